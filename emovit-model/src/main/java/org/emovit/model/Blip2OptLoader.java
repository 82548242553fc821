package org.emovit.model;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.emovit.weights.Safetensors;
import org.emovit.weights.TensorSource;

/** Loads BLIP-2 OPT from a Hugging Face directory (config.json + safetensors), as {@link InstructBlipLoader} does InstructBLIP. */
public final class Blip2OptLoader {
    private Blip2OptLoader() {}

    public static Blip2Opt load(Path dir, ScalarType dtype, Device device) {
        if (!Files.isDirectory(dir)) {
            throw new ModelLoadException("BLIP-2 model directory not found: " + dir);
        }
        Path configFile = dir.resolve("config.json");
        if (!Files.isRegularFile(configFile)) {
            throw new ModelLoadException("not a Hugging Face model directory (no config.json): " + dir);
        }
        Blip2OptConfig config = Blip2OptConfig.read(configFile);
        TensorSource src = Safetensors.openDir(dir);
        try {
            StateDict w = new StateDict(dtype, device);
            for (String key : src.keys()) {
                w.put(key, new StateDict.Entry(src.get(key).shape(), src.describe(), () -> Tensors.viewOf(src.get(key))));
            }
            return new Blip2Opt(config, w, List.of(src));
        } catch (RuntimeException e) {
            src.close();
            throw e;
        }
    }
}
