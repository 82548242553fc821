package org.emovit.weights;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import net.razorvine.pickle.IObjectConstructor;
import net.razorvine.pickle.PickleException;
import net.razorvine.pickle.PickleUtils;
import net.razorvine.pickle.Unpickler;

/**
 * Unpickles a PyTorch checkpoint's {@code data.pkl} with razorvine's {@link Unpickler}, changed where a
 * checkpoint needs it:
 * <ul>
 * <li>{@code persistent_load}: the pid tuple {@code ('storage', storage_type, key, location, numel)} becomes a
 * {@link StorageRef} (nothing is read yet);</li>
 * <li>torch globals resolve to markers: storage classes ({@code torch.FloatStorage} ...,
 * {@code torch.UntypedStorage}) to {@link StorageType}, dtypes ({@code torch.float32} ...) to {@link DTypeMarker},
 * {@code torch._utils._rebuild_tensor_v2/_v3}, {@code _rebuild_parameter(_with_state)} and
 * {@code torch._tensor._rebuild_from_type_v2} to constructors that build a lazy {@link TensorRef};</li>
 * <li>dicts (plain, {@code collections.OrderedDict}) are {@link LinkedHashMap}s filled in pickle order
 * (razorvine's own dicts are HashMaps and lose the order);</li>
 * <li>any other global becomes a {@link PyObject} that accepts any constructor arguments, state, items and
 * list items, and a constructor that fails yields a {@link PyObject} too, so optimizer state, configs
 * (OmegaConf), numpy scalars and the like never fail the load. Only the state dict's tensors are used.</li>
 * </ul>
 */
final class TorchUnpickler extends Unpickler {

    /** A storage class global: typed (dtype known, or null if unsupported) or untyped (bytes). */
    record StorageType(String name, DType dtype, boolean untyped) implements IObjectConstructor {
        @Override
        public Object construct(Object[] args) {
            return new PyObject("torch", name + "(...)", args);
        }
    }

    /** A dtype global such as torch.bfloat16; dtype is null for types this module does not support. */
    record DTypeMarker(String name, DType dtype) implements IObjectConstructor {
        @Override
        public Object construct(Object[] args) {
            return new PyObject("torch", name + "(...)", args);
        }
    }

    /** A persistent storage reference from the pickle. */
    record StorageRef(Object type, String key, String location, Object numel) {
    }

    /** A tensor to be: a view of a storage, resolved only if it is in the state dict. */
    record TensorRef(String rebuild, Object storage, Object offset, Object size, Object stride, Object dtype) {
    }

    /** Anything else: keeps what the pickle gave it, for error messages; accepts any arguments. */
    static final class PyObject implements IObjectConstructor {
        final String module;
        final String name;
        final Object[] args;
        Object state;
        final Map<Object, Object> items = new LinkedHashMap<>();
        final List<Object> listItems = new ArrayList<>();

        PyObject(String module, String name, Object[] args) {
            this.module = module;
            this.name = name;
            this.args = args;
        }

        @Override
        public Object construct(Object[] a) {
            return new PyObject(module, name + "(...)", a);
        }

        @Override
        public String toString() {
            return module + "." + name;
        }
    }

    private static final Map<String, IObjectConstructor> TORCH_GLOBALS = torchGlobals();

    private static Map<String, IObjectConstructor> torchGlobals() {
        Map<String, IObjectConstructor> m = new HashMap<>();
        Object[][] storages = {
            {"DoubleStorage", DType.F64}, {"FloatStorage", DType.F32}, {"HalfStorage", DType.F16},
            {"BFloat16Storage", DType.BF16}, {"LongStorage", DType.I64}, {"IntStorage", DType.I32},
            {"ShortStorage", DType.I16}, {"CharStorage", DType.I8}, {"ByteStorage", DType.U8},
            {"BoolStorage", DType.BOOL},
            {"ComplexDoubleStorage", null}, {"ComplexFloatStorage", null}, {"QUInt8Storage", null},
            {"QInt8Storage", null}, {"QInt32Storage", null}, {"QUInt4x2Storage", null}, {"QUInt2x4Storage", null},
        };
        for (Object[] s : storages) {
            String name = (String) s[0];
            StorageType t = new StorageType("torch." + name, (DType) s[1], false);
            m.put("torch." + name, t);
            m.put("torch.cuda." + name, t);
        }
        StorageType untyped = new StorageType("torch.UntypedStorage", DType.U8, true);
        m.put("torch.UntypedStorage", untyped);
        m.put("torch.storage.UntypedStorage", untyped);
        m.put("torch.storage._UntypedStorage", untyped);
        m.put("torch.cuda.UntypedStorage", untyped);
        Object[][] dtypes = {
            {"float64", DType.F64}, {"double", DType.F64}, {"float32", DType.F32}, {"float", DType.F32},
            {"float16", DType.F16}, {"half", DType.F16}, {"bfloat16", DType.BF16}, {"int64", DType.I64},
            {"long", DType.I64}, {"int32", DType.I32}, {"int", DType.I32}, {"int16", DType.I16},
            {"short", DType.I16}, {"int8", DType.I8}, {"uint8", DType.U8}, {"bool", DType.BOOL},
            {"complex64", null}, {"complex128", null}, {"cfloat", null}, {"cdouble", null},
            {"uint16", null}, {"uint32", null}, {"uint64", null},
            {"float8_e4m3fn", null}, {"float8_e5m2", null}, {"float8_e4m3fnuz", null}, {"float8_e5m2fnuz", null},
            {"qint8", null}, {"quint8", null}, {"qint32", null},
        };
        for (Object[] d : dtypes) {
            m.put("torch." + d[0], new DTypeMarker("torch." + d[0], (DType) d[1]));
        }
        m.put("torch._utils._rebuild_tensor", a -> rebuild("_rebuild_tensor", a, null));
        m.put("torch._utils._rebuild_tensor_v2", a -> rebuild("_rebuild_tensor_v2", a, null));
        m.put("torch._utils._rebuild_tensor_v3", a -> rebuild("_rebuild_tensor_v3", a, a.length > 6 ? a[6] : null));
        IObjectConstructor param = a -> a.length > 0 ? a[0] : new PyObject("torch._utils", "_rebuild_parameter", a);
        m.put("torch._utils._rebuild_parameter", param);
        m.put("torch._utils._rebuild_parameter_with_state", param);
        IObjectConstructor fromType = a -> {
            // _rebuild_from_type_v2(func, new_type, args, state): a tensor subclass; rebuild the plain tensor
            if (a.length >= 3 && a[0] instanceof IObjectConstructor f && a[2] instanceof Object[] fa) {
                return f.construct(fa);
            }
            return new PyObject("torch._tensor", "_rebuild_from_type_v2", a);
        };
        m.put("torch._tensor._rebuild_from_type_v2", fromType);
        m.put("torch._utils._rebuild_from_type_v2", fromType);
        m.put("collections.OrderedDict", a -> {
            LinkedHashMap<Object, Object> d = new LinkedHashMap<>();
            if (a.length > 0 && a[0] instanceof List<?> pairs) {
                for (Object p : pairs) {
                    if (p instanceof Object[] kv && kv.length == 2) {
                        d.put(kv[0], kv[1]);
                    }
                }
            }
            return d;
        });
        return Map.copyOf(m);
    }

    private static Object rebuild(String name, Object[] a, Object dtype) {
        if (a.length < 4) {
            return new PyObject("torch._utils", name, a);
        }
        return new TensorRef(name, a[0], a[1], a[2], a[3], dtype);
    }

    @Override
    protected Object persistentLoad(Object pid) {
        if (pid instanceof Object[] t && t.length >= 5 && "storage".equals(t[0])) {
            return new StorageRef(t[1], String.valueOf(t[2]), String.valueOf(t[3]), t[4]);
        }
        return new PyObject("<persistent>", String.valueOf(pid instanceof Object[] a ? Arrays.toString(a) : pid),
                new Object[0]);
    }

    private IObjectConstructor resolveGlobal(String module, String name) {
        String full = module + "." + name;
        IObjectConstructor c = TORCH_GLOBALS.get(full);
        if (c == null) {
            c = objectConstructors.get(full);
        }
        return c != null ? c : new PyObject(module, name, null);
    }

    private static Object construct(Object callable, Object args) {
        Object[] a = args instanceof Object[] arr ? arr : new Object[] {args};
        if (callable instanceof IObjectConstructor c) {
            try {
                return c.construct(a);
            } catch (RuntimeException e) {
                return new PyObject("<failed>", String.valueOf(callable), a);
            }
        }
        return new PyObject("<not callable>", String.valueOf(callable), a);
    }

    @SuppressWarnings("unchecked")
    @Override
    protected Object dispatch(short key) throws PickleException, IOException {
        requireOperandFits(key);
        switch (key) {
            case '}' -> stack.add(new LinkedHashMap<Object, Object>()); // EMPTY_DICT
            case 'd' -> { // DICT
                List<Object> items = stack.pop_all_since_marker();
                LinkedHashMap<Object, Object> m = new LinkedHashMap<>();
                for (int i = 0; i + 1 < items.size(); i += 2) {
                    m.put(items.get(i), items.get(i + 1));
                }
                stack.add(m);
            }
            case 's' -> { // SETITEM
                Object value = stack.pop();
                Object k = stack.pop();
                putItem(stack.peek(), k, value);
            }
            case 'u' -> { // SETITEMS
                List<Object> items = stack.pop_all_since_marker();
                Object target = stack.peek();
                for (int i = 0; i + 1 < items.size(); i += 2) {
                    putItem(target, items.get(i), items.get(i + 1));
                }
            }
            case 'a' -> { // APPEND
                Object value = stack.pop();
                addItem(stack.peek(), value);
            }
            case 'e' -> { // APPENDS
                List<Object> items = stack.pop_all_since_marker();
                Object target = stack.peek();
                for (Object v : items) {
                    addItem(target, v);
                }
            }
            case 'c' -> { // GLOBAL
                String module = PickleUtils.readline(input);
                String name = PickleUtils.readline(input);
                stack.add(resolveGlobal(module, name));
            }
            case 0x93 -> { // STACK_GLOBAL
                Object name = stack.pop();
                Object module = stack.pop();
                stack.add(resolveGlobal(String.valueOf(module), String.valueOf(name)));
            }
            case 'R' -> { // REDUCE
                Object args = stack.pop();
                Object callable = stack.pop();
                stack.add(construct(callable, args));
            }
            case 0x81 -> { // NEWOBJ
                Object args = stack.pop();
                Object cls = stack.pop();
                stack.add(construct(cls, args));
            }
            case 0x92 -> { // NEWOBJ_EX
                stack.pop(); // kwargs
                Object args = stack.pop();
                Object cls = stack.pop();
                stack.add(construct(cls, args));
            }
            case 'i' -> { // INST
                String module = PickleUtils.readline(input);
                String name = PickleUtils.readline(input);
                List<Object> args = stack.pop_all_since_marker();
                stack.add(construct(resolveGlobal(module, name), args.toArray()));
            }
            case 'o' -> { // OBJ
                List<Object> args = stack.pop_all_since_marker();
                Object cls = args.isEmpty() ? null : args.get(0);
                stack.add(construct(cls, args.isEmpty() ? new Object[0] : args.subList(1, args.size()).toArray()));
            }
            case 'b' -> { // BUILD
                Object state = stack.pop();
                Object target = stack.peek();
                if (target instanceof PyObject p) {
                    p.state = state;
                } else if (!(target instanceof Map<?, ?>) && !(target instanceof TensorRef)) {
                    // razorvine objects with __setstate__ (e.g. its ClassDict); ignore what cannot take state
                    try {
                        target.getClass().getMethod("__setstate__", state.getClass()).invoke(target, state);
                    } catch (ReflectiveOperationException | RuntimeException ignored) {
                        // state of an object we do not use
                    }
                }
                // Maps (OrderedDict with a _metadata attribute) and tensors: the state is not needed
            }
            default -> {
                return super.dispatch(key);
            }
        }
        return NO_RETURN_VALUE;
    }

    /**
     * Refuses an opcode whose length operand claims more bytes than the pickle has left, before the base class
     * allocates that many: a flipped byte in a 1 KB pickle asked for gigabytes (OutOfMemoryError).
     */
    private void requireOperandFits(short key) throws IOException {
        int lengthBytes = switch (key) {
            case 'U', 'C', 0x8c, 0x8a -> 1;        // SHORT_BINSTRING, SHORT_BINBYTES, SHORT_BINUNICODE, LONG1
            case 'T', 'X', 'B', 0x8b -> 4;         // BINSTRING, BINUNICODE, BINBYTES, LONG4
            case 0x8d, 0x8e, 0x96, 0x95 -> 8;      // BINUNICODE8, BINBYTES8, BYTEARRAY8, FRAME
            default -> 0;
        };
        if (lengthBytes == 0 || !input.markSupported()) {
            return;
        }
        input.mark(8);
        byte[] b = input.readNBytes(lengthBytes);
        input.reset();
        long length = 0;
        for (int i = b.length - 1; i >= 0; i--) {
            length = (length << 8) | (b[i] & 0xff);
        }
        if (lengthBytes == 4) {
            length = (int) length;   // BINSTRING's and LONG4's lengths are signed
        }
        long left = input.available() - (long) lengthBytes;
        if (b.length < lengthBytes || length < 0 || length > left) {
            throw new PickleException("opcode 0x" + Integer.toHexString(key) + " claims " + length + " bytes, but the pickle has "
                    + Math.max(0, left) + " left");
        }
    }

    @SuppressWarnings("unchecked")
    private static void putItem(Object target, Object k, Object v) {
        if (target instanceof Map<?, ?> m) {
            ((Map<Object, Object>) m).put(k, v);
        } else if (target instanceof PyObject p) {
            p.items.put(k, v);
        }
    }

    @SuppressWarnings("unchecked")
    private static void addItem(Object target, Object v) {
        if (target instanceof List<?> l) {
            ((List<Object>) l).add(v);
        } else if (target instanceof PyObject p) {
            p.listItems.add(v);
        }
    }
}
