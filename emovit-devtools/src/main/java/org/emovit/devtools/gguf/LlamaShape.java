package org.emovit.devtools.gguf;

/** The sizes of a LLaMA decoder (multi-head attention, no grouped KV heads). */
public record LlamaShape(int layers, int hidden, int ffn, int heads, int vocab, int context) {
    public LlamaShape {
        if (layers < 1 || hidden < 1 || ffn < 1 || heads < 1 || vocab < 1 || context < 1) {
            throw new IllegalArgumentException("model sizes must be positive: " + this);
        }
        if (hidden % heads != 0) {
            throw new IllegalArgumentException("hidden size " + hidden + " is not a multiple of the " + heads + " heads");
        }
    }

    /** Vicuna-7B's LLM (LLaMA-7B): hidden 4096, FFN 11008, 32 heads, vocabulary 32000, context 2048. */
    public static LlamaShape vicuna7b(int layers) {
        return new LlamaShape(layers, 4096, 11008, 32, 32000, 2048);
    }

    public int headDim() {
        return hidden / heads;
    }
}
