package org.emovit.weights;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Exports are byte-reproducible, get the permissions of any other new file, and never create folders. */
class ReproducibleExportTest {

    static Map<String, RawTensor> tensors() {
        Map<String, RawTensor> t = new LinkedHashMap<>();
        for (String name : new String[] {"b.weight", "a.bias"}) {
            float[] v = new float[4];
            for (int i = 0; i < 4; i++) {
                v[i] = name.length() + i;
            }
            t.put(name, RawTensor.ofFloats(new long[] {4}, v));
        }
        return t;
    }

    @Test
    void theSameTensorsGiveTheSameBytes(@TempDir Path dir) throws Exception {
        Map<String, String> meta1 = new HashMap<>();
        Map<String, String> meta2 = new LinkedHashMap<>();
        for (String k : new String[] {"producer", "format", "step", "z", "a"}) {
            meta1.put(k, k + "!");
        }
        for (String k : new String[] {"a", "z", "step", "format", "producer"}) {
            meta2.put(k, k + "!");
        }
        Safetensors.write(dir.resolve("1.safetensors"), tensors(), meta1);
        Safetensors.write(dir.resolve("2.safetensors"), tensors(), meta2);
        assertThat(Files.readAllBytes(dir.resolve("1.safetensors"))).isEqualTo(Files.readAllBytes(dir.resolve("2.safetensors")));

        TorchCheckpointWriter.write(dir.resolve("1.pth"), tensors(), "model");
        Thread.sleep(2100);   // the zip format's clock ticks every 2 s
        TorchCheckpointWriter.write(dir.resolve("2.pth"), tensors(), "model");
        assertThat(Files.readAllBytes(dir.resolve("1.pth"))).isEqualTo(Files.readAllBytes(dir.resolve("2.pth")));
    }

    @Test
    void exportsAreCreatedWithTheUsualPermissions(@TempDir Path dir) throws Exception {
        Path plain = dir.resolve("plain");
        Files.write(plain, new byte[] {1});   // what the umask gives any new file
        Safetensors.write(dir.resolve("x.safetensors"), tensors(), Map.of());
        TorchCheckpointWriter.write(dir.resolve("x.pth"), tensors(), null);
        String usual = PosixFilePermissions.toString(Files.getPosixFilePermissions(plain));
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("x.safetensors")))).isEqualTo(usual);
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("x.pth")))).isEqualTo(usual);
        try (var s = Files.list(dir)) {
            assertThat(s.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder("plain", "x.safetensors", "x.pth");
        }
    }

    @Test
    void aMissingFolderIsAnErrorNotANewTree(@TempDir Path dir) {
        Path out = dir.resolve("no/such/folder/out.safetensors");
        assertThatThrownBy(() -> Safetensors.write(out, tensors(), Map.of()))
                .hasMessageContaining(out.toString()).hasMessageContaining("does not exist");
        assertThatThrownBy(() -> TorchCheckpointWriter.write(dir.resolve("nope/x.pth"), tensors(), null))
                .hasMessageContaining("does not exist");
        assertThat(dir.resolve("no")).doesNotExist();
    }
}
