package org.emovit.cli;

import org.emovit.options.GenerationOptions;
import org.emovit.options.ModelOptions;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.emovit.core.Prompts;
import org.emovit.api.EmbeddedModel;
import org.emovit.api.EmoVit;
import org.emovit.generate.GenerationConfig;
import org.emovit.api.InstructBlipProcessor;
import org.emovit.image.ImageDecoder;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** Asks the model about one image and streams its answer (greedy decoding). */
@Command(name = "ask", mixinStandardHelpOptions = true,
        description = {"Ask the model a question about an image; the answer is streamed token by token (greedy decoding).",
                "With no arguments: the embedded tiny random-weight model, a sample image and EmoVIT's emotion instruction."})
public final class AskCommand implements Callable<Integer> {

    @Mixin
    ModelOptions modelOptions;

    @Parameters(index = "0", arity = "0..1", paramLabel = "IMAGE", description = "Image file (default: an embedded sample photo).")
    Path image;

    @Parameters(index = "1", arity = "0..1", paramLabel = "QUESTION",
            description = "Instruction or question (default: EmoVIT's emotion classification instruction).")
    String question;

    @Mixin
    GenerationOptions generationOptions;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        Path img = image != null ? image : EmbeddedModel.sample("photo.jpg");
        String prompt = question != null ? question : Prompts.CLASSIFICATION_INSTRUCTION;
        if (modelOptions.isEmbedded()) {
            err.println(EmbeddedModel.NOTE);
            err.flush();
        }
        try (EmoVit emovit = modelOptions.spec().open()) {   // EmoVit opens its own no-grad guard and scope
            InstructBlipProcessor processor = emovit.processor();
            GenerationConfig generation = generationOptions.config();
            StreamPrinter printer = new StreamPrinter(out);
            List<Long> answer = new ArrayList<>();
            EmoVit.Answer result = emovit.generate(List.of(ImageDecoder.decode(img)), List.of(prompt),
                    generation, (step, tokens) -> {
                        answer.add(tokens[0]);
                        printer.update(processor.decode(answer.stream().mapToLong(Long::longValue).toArray()), false);
                    }).get(0);
            printer.update(result.text(), true);
            out.println();
            out.flush();
        }
        return 0;
    }
}
