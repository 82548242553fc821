package org.emovit.convert;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.emovit.model.InstructBlipConfig;
import org.emovit.model.LlamaConfig;
import org.emovit.model.ModelLoadException;
import org.emovit.model.QFormerConfig;
import org.emovit.model.VisionConfig;

/**
 * The converted directory's {@code config.json}: the source's own config (a Hugging Face directory's, or the
 * LAVIS layout's {@code --config}) with every size the loaded model used written over it. The loaded config is
 * the authority because loading may change it: LAVIS adds a {@code [PAD]} row to the vocabulary and places the
 * image in the first positions ({@code image_token_index} -1).
 */
final class ModelConfigJson {
    private static final ObjectMapper JSON = new ObjectMapper();

    private ModelConfigJson() {}

    static byte[] of(InstructBlipConfig c, Path sourceConfig, String torchDtype) {
        ObjectNode root;
        try {
            root = sourceConfig != null && Files.isRegularFile(sourceConfig)
                    ? (ObjectNode) JSON.readTree(sourceConfig.toFile()) : JSON.createObjectNode();
        } catch (IOException | ClassCastException e) {
            throw new ModelLoadException("cannot read model config " + sourceConfig + ": " + e.getMessage(), e);
        }
        if (!root.has("model_type")) {
            root.put("model_type", "instructblip");
            root.putArray("architectures").add("InstructBlipForConditionalGeneration");
        }
        root.put("dtype", torchDtype);
        if (root.has("torch_dtype")) {
            root.put("torch_dtype", torchDtype);   // transformers 4.x's name for the same field
        }
        root.put("num_query_tokens", c.numQueryTokens());
        root.put("image_token_index", c.imageTokenIndex());
        vision(object(root, "vision_config"), c.vision());
        qformer(object(root, "qformer_config"), c.qformer());
        text(object(root, "text_config"), c.text());
        try {
            return JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(root);
        } catch (IOException e) {
            throw new ModelLoadException("cannot encode config.json: " + e.getMessage(), e);
        }
    }

    private static ObjectNode object(ObjectNode root, String field) {
        JsonNode n = root.get(field);
        return n instanceof ObjectNode o ? o : root.putObject(field);
    }

    private static void vision(ObjectNode n, VisionConfig v) {
        n.put("hidden_size", v.hiddenSize());
        n.put("intermediate_size", v.intermediateSize());
        n.put("num_hidden_layers", v.numLayers());
        n.put("num_attention_heads", v.numHeads());
        n.put("image_size", v.imageSize());
        n.put("patch_size", v.patchSize());
        n.put("layer_norm_eps", v.layerNormEps());
    }

    private static void qformer(ObjectNode n, QFormerConfig q) {
        n.put("hidden_size", q.hiddenSize());
        n.put("intermediate_size", q.intermediateSize());
        n.put("num_hidden_layers", q.numLayers());
        n.put("num_attention_heads", q.numHeads());
        n.put("vocab_size", q.vocabSize());
        n.put("max_position_embeddings", q.maxPositions());
        n.put("layer_norm_eps", q.layerNormEps());
        n.put("cross_attention_frequency", q.crossAttentionFrequency());
        n.put("encoder_hidden_size", q.encoderHiddenSize());
        n.put("pad_token_id", q.padTokenId());
        n.put("use_qformer_text_input", q.textInput());
    }

    private static void text(ObjectNode n, LlamaConfig t) {
        n.put("hidden_size", t.hiddenSize());
        n.put("intermediate_size", t.intermediateSize());
        n.put("num_hidden_layers", t.numLayers());
        n.put("num_attention_heads", t.numHeads());
        n.put("num_key_value_heads", t.numKvHeads());
        n.put("head_dim", t.headDim());
        n.put("vocab_size", t.vocabSize());
        n.put("rms_norm_eps", t.rmsNormEps());
        // the reader prefers rope_parameters.rope_theta (transformers 5) over rope_theta (4.x); write what it reads
        object(n, "rope_parameters").put("rope_theta", t.ropeTheta());
        n.put("max_position_embeddings", t.maxPositions());
        n.put("tie_word_embeddings", t.tieWordEmbeddings());
        n.put("bos_token_id", t.bosTokenId());
        n.put("eos_token_id", t.eosTokenId());
        if (t.padTokenId() >= 0) {
            n.put("pad_token_id", t.padTokenId());
        }
        if (!n.has("model_type")) {
            n.put("model_type", "llama");
        }
    }
}
