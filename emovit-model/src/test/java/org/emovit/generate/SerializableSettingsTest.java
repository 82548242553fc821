package org.emovit.generate;

import org.emovit.api.ModelSpec;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import org.junit.jupiter.api.Test;

/** What the Spark jobs ship to executors arrives whole: decoding with its sampling part, and the model's precision. */
class SerializableSettingsTest {

    @SuppressWarnings("unchecked")
    private static <T> T roundTrip(T value) throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(value);
        }
        try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
            return (T) in.readObject();
        }
    }

    @Test
    void generationConfigKeepsItsSampling() throws Exception {
        GenerationConfig sampled = GenerationConfig.emovit().withMaxNewTokens(17).withSampling(new Sampling(0.7, 0.9, 42));
        assertThat(roundTrip(sampled)).isEqualTo(sampled);
        assertThat(roundTrip(sampled).sampling()).isEqualTo(new Sampling(0.7, 0.9, 42));
        assertThat(roundTrip(GenerationConfig.lavis())).isEqualTo(GenerationConfig.lavis());
    }

    @Test
    void everySpellingOfAPrecisionHasOneName() {
        assertThat(new ModelSpec(null, null, null, null, null, null, null, null, "bfloat16", null).dtypeName()).isEqualTo("bf16");
        assertThat(new ModelSpec(null, null, null, null, null, null, null, null, "BF16", null).dtypeName()).isEqualTo("bf16");
        assertThat(new ModelSpec(null, null, null, null, null, null, null, null, "float32", null).dtypeName()).isEqualTo("f32");
        assertThat(new ModelSpec(null, null, null, null, null, null, null, null, null, null).dtypeName()).isEqualTo("f32");
    }
}
