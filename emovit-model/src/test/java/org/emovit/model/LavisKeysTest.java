package org.emovit.model;

import static org.assertj.core.api.Assertions.assertThat;

import org.emovit.weights.TensorSource;
import org.emovit.weights.TorchCheckpoint;
import org.junit.jupiter.api.Test;

class LavisKeysTest {

    @Test
    void everyTunedLavisKeyMapsToAnHfKeyAndBack() {
        try (TensorSource overlay = TorchCheckpoint.open(Fixtures.tinyA().resolve("lavis/instructblip_trimmed.pth"))) {
            assertThat(overlay.keys()).isNotEmpty();
            for (String key : overlay.keys()) {
                String hf = LavisKeys.instructBlip(key);
                assertThat(hf).as(key).isNotNull();
                assertThat(LavisKeys.toLavis(hf)).isEqualTo(key);
            }
        }
    }

    @Test
    void visionKeysFollowTheHfNames() {
        assertThat(LavisKeys.vision("blocks.3.attn.proj.weight")).isEqualTo("vision_model.encoder.layers.3.self_attn.projection.weight");
        assertThat(LavisKeys.vision("blocks.3.norm2.bias")).isEqualTo("vision_model.encoder.layers.3.layer_norm2.bias");
        assertThat(LavisKeys.vision("blocks.0.attn.q_bias")).isNull();
        assertThat(LavisKeys.visionBlock("blocks.39.mlp.fc1.weight")).isEqualTo(39);
        assertThat(LavisKeys.instructBlip("Qformer.bert.encoder.layer.0.crossattention.self.key.weight"))
                .isEqualTo("qformer.encoder.layer.0.crossattention.attention.key.weight");
        assertThat(LavisKeys.instructBlip("Qformer.bert.embeddings.LayerNorm.weight")).isEqualTo("qformer.embeddings.layernorm.weight");
    }
}
