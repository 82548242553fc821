package org.emovit.image;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/** A minimal safetensors reader for the tests (U8 and F32 only): 8-byte LE header length, JSON header, data. */
final class TestSafetensors {

    record Tensor(String dtype, int[] shape, byte[] data) {
        byte[] u8() {
            if (!dtype.equals("U8")) {
                throw new IllegalStateException("not U8: " + dtype);
            }
            return data;
        }

        float[] f32() {
            if (!dtype.equals("F32")) {
                throw new IllegalStateException("not F32: " + dtype);
            }
            float[] out = new float[data.length / 4];
            ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out);
            return out;
        }
    }

    private final Map<String, Tensor> tensors = new LinkedHashMap<>();

    private TestSafetensors() {
    }

    static TestSafetensors load(InputStream in) throws IOException {
        byte[] all = in.readAllBytes();
        ByteBuffer bb = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN);
        long headerLen = bb.getLong(0);
        String json = new String(all, 8, (int) headerLen, StandardCharsets.UTF_8);
        JsonNode header = new ObjectMapper().readTree(json);
        int base = 8 + (int) headerLen;
        TestSafetensors st = new TestSafetensors();
        for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (e.getKey().equals("__metadata__")) {
                continue;
            }
            JsonNode t = e.getValue();
            int[] shape = new int[t.get("shape").size()];
            for (int i = 0; i < shape.length; i++) {
                shape[i] = t.get("shape").get(i).asInt();
            }
            int begin = t.get("data_offsets").get(0).asInt();
            int end = t.get("data_offsets").get(1).asInt();
            byte[] data = new byte[end - begin];
            System.arraycopy(all, base + begin, data, 0, data.length);
            st.tensors.put(e.getKey(), new Tensor(t.get("dtype").asText(), shape, data));
        }
        return st;
    }

    Tensor get(String name) {
        Tensor t = tensors.get(name);
        if (t == null) {
            throw new IllegalArgumentException("no tensor " + name + " in " + tensors.keySet());
        }
        return t;
    }
}
