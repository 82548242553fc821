package org.emovit.spark;

import org.apache.spark.TaskContext;
import org.apache.spark.resource.ResourceInformation;
import org.emovit.api.ModelSpec;

/**
 * {@code --device cuda} on a cluster means "the GPU Spark gave this task": with GPU scheduling
 * ({@code spark.executor.resource.gpu.amount}, {@code spark.task.resource.gpu.amount}) each task carries the
 * addresses of its GPUs, and the model goes to the first. An explicit {@code cuda:N} or {@code cpu} is kept.
 */
final class ExecutorDevice {
    private ExecutorDevice() {}

    static ModelSpec resolve(ModelSpec spec) {
        if (spec.device() == null || !spec.device().equalsIgnoreCase("cuda")) {
            return spec;
        }
        TaskContext task = TaskContext.get();
        if (task == null) {
            return spec;
        }
        ResourceInformation gpu = task.resources().get("gpu").getOrElse(() -> null);
        if (gpu == null || gpu.addresses().length == 0) {
            return spec;
        }
        return new ModelSpec(spec.model(), spec.vit(), spec.qformer(), spec.llm(), spec.preset(), spec.config(), spec.qformerVocab(),
                spec.overlay(), spec.dtype(), "cuda:" + gpu.addresses()[0]);
    }
}
