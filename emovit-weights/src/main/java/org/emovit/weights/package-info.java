/**
 * Reading and writing model weights without PyTorch.
 *
 * <ul>
 * <li>{@link org.emovit.weights.Safetensors}: {@code .safetensors} files (single, sharded with
 * {@code model.safetensors.index.json}, or a model folder), memory-mapped; and a writer.</li>
 * <li>{@link org.emovit.weights.TorchCheckpoint}: PyTorch zip checkpoints ({@code torch.save}), e.g. LAVIS /
 * EmoVIT {@code .pth} files, storages memory-mapped in place (the zip is read with commons-compress, whose
 * entries give their data offsets).</li>
 * <li>{@link org.emovit.weights.TensorSource}: what both return, a named set of
 * {@link org.emovit.weights.RawTensor}s (dtype, shape, little-endian row-major bytes).</li>
 * </ul>
 *
 * <p>Nothing reads a whole weights file into the heap: tensors are slices of read-only mappings, so a
 * 16 GB checkpoint needs address space, not 16 GB of heap. Copies are made only for non-contiguous PyTorch
 * views and for compressed zip entries. A single tensor cannot exceed 2 GiB - 1 bytes (one
 * {@link java.nio.ByteBuffer}). Every failure is a {@link org.emovit.weights.WeightsException} naming the file
 * and, where one applies, the tensor.
 */
package org.emovit.weights;
