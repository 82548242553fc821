package org.emovit.cli;

import org.emovit.options.CaptionOptions;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.emovit.data.AnnotateStage;
import org.emovit.data.CapAnnoStage;
import org.emovit.data.CaptionStage;
import org.emovit.data.DataIssue;
import org.emovit.data.pipeline.DataPipeline;
import org.emovit.data.Selection;
import org.emovit.data.assemble.Assembler;
import org.emovit.data.llm.GenerateStage;
import org.emovit.data.InstructionKind;
import org.emovit.data.llm.LlmOptions;
import org.emovit.core.AtomicFiles;
import org.emovit.core.Emotion;
import org.emovit.core.JsonlFile;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** `emovit data ...`: EmoVIT's instruction-data pipeline over an EmoSet-layout folder. */
@Command(name = "data", mixinStandardHelpOptions = true,
        description = {"Build EmoVIT's instruction set from EmoSet: caption -> cap-anno -> generate (LLM) -> assemble.",
                "Every stage skips what is done, so a stopped run is resumed by running it again."},
        subcommands = {DataCommand.Annotate.class, DataCommand.Caption.class, DataCommand.CapAnno.class, DataCommand.Generate.class,
                DataCommand.Assemble.class, DataCommand.All.class})
public final class DataCommand {

    /** Where the data set and the work folder are. */
    static final class Paths {
        @Option(names = "--emoset", required = true, paramLabel = "DIR", description = "EmoSet root (image/, annotation/, train.json ...).")
        Path emoset;

        @Option(names = "--work", defaultValue = "emovit-data-work", paramLabel = "DIR",
                description = "Work folder for captions, replies, logs, cache and all.json (default: ${DEFAULT-VALUE}).")
        Path work;

        DataPipeline pipeline() {
            return DataPipeline.of(emoset, work, System.err);
        }
    }

    /** Which images: a split, an index range per class, some classes. */
    static final class Images {
        @Option(names = "--split", defaultValue = "train", description = "Split file to select from (default: ${DEFAULT-VALUE}).")
        String split;

        @Option(names = "--range", paramLabel = "A..B", description = "Per-class index range in the split's order, inclusive.")
        String range;

        @Option(names = "--classes", split = ",", paramLabel = "EMOTION", description = "Only these classes.")
        List<String> classes;

        Selection selection(Selection fallback) {
            int[] r = range == null ? new int[] {fallback.from(), fallback.to()} : Selection.parseRange(range);
            EnumSet<Emotion> set = EnumSet.noneOf(Emotion.class);
            if (classes == null || classes.isEmpty()) {
                set = EnumSet.allOf(Emotion.class);
            } else {
                for (String c : classes) {
                    set.add(Emotion.fromLabel(c).orElseThrow(() -> new IllegalArgumentException("--classes: unknown emotion '" + c + "'")));
                }
            }
            return new Selection(split, r[0], r[1], set);
        }
    }

    /** The LLM endpoint (any OpenAI-compatible chat-completions server). */
    static final class Llm {
        @Option(names = "--base-url", description = "Endpoint base URL (default: $OPENAI_BASE_URL or the OpenAI API).")
        String baseUrl;

        @Option(names = "--llm-model", description = "Chat model (default: $OPENAI_MODEL or gpt-4, as the seed).")
        String model;

        @Option(names = "--temperature", defaultValue = "1.0", description = "Sampling temperature (default: ${DEFAULT-VALUE}, as the seed).")
        double temperature;

        @Option(names = "--concurrency", defaultValue = "4", description = "Requests in flight at once (default: ${DEFAULT-VALUE}).")
        int concurrency;

        @Option(names = "--max-requests", defaultValue = "0", description = "Budget: most HTTP requests this run (0 = no limit).")
        long maxRequests;

        @Option(names = "--max-tokens", defaultValue = "0", description = "Budget: most prompt + completion tokens this run (0 = no limit).")
        long maxTokens;

        @Option(names = "--timeout", defaultValue = "120", description = "Seconds per request (default: ${DEFAULT-VALUE}).")
        int timeout;

        LlmOptions options() {
            LlmOptions o = LlmOptions.fromEnv();   // the API key only ever comes from OPENAI_API_KEY
            if (baseUrl != null) {
                o = o.withBaseUrl(baseUrl);
            }
            if (model != null) {
                o = o.withModel(model);
            }
            return o.withTemperature(temperature).withConcurrency(concurrency).withRequestTimeout(Duration.ofSeconds(timeout))
                    .withBudget(maxRequests > 0 ? maxRequests : Long.MAX_VALUE, maxTokens > 0 ? maxTokens : Long.MAX_VALUE);
        }
    }

    /** Where a JSON copy of a stage's report goes, when one is asked for. */
    static final class ReportFile {
        @Option(names = "--report-json", paramLabel = "FILE",
                description = "Also write the stage's full report (counts and every issue) as JSON to FILE.")
        Path file;

        /** Prints the summary lines and the first issues; writes the JSON report when a file was given. */
        void print(CommandSpec spec, List<String> summary, List<DataIssue> issues, Object report) throws IOException {
            PrintWriter out = spec.commandLine().getOut();
            summary.forEach(out::println);
            PrintWriter err = spec.commandLine().getErr();
            issues.stream().limit(SHOWN_ISSUES).forEach(i -> err.println("  " + i));
            if (issues.size() > SHOWN_ISSUES) {
                err.println("  ... and " + (issues.size() - SHOWN_ISSUES) + " more"
                        + (file == null ? " (--report-json FILE lists them all)" : " (see " + file + ")"));
            }
            if (file != null) {
                AtomicFiles.write(file, JsonlFile.mapper().writerWithDefaultPrettyPrinter()
                        .writeValueAsBytes(report));
            }
        }

        private static final int SHOWN_ISSUES = 5;
    }

    @Command(name = "annotate", mixinStandardHelpOptions = true,
            description = "For your own images under image/<emotion>/: annotations with brightness and colorfulness from the pixels, and a split file.")
    static final class Annotate implements Callable<Integer> {
        @Mixin Paths paths;
        @Mixin ReportFile report;
        @Option(names = "--overwrite", description = "Recompute annotations that exist and rewrite the split list.") boolean overwrite;
        @Option(names = "--split-name", defaultValue = "train",
                description = "Split list to write, <emoset>/NAME.json, when there is none (default: ${DEFAULT-VALUE}).") String splitName;
        @Spec CommandSpec spec;

        @Override
        public Integer call() throws Exception {
            AnnotateStage.Report r = paths.pipeline().annotate(new AnnotateStage.Options(overwrite, splitName));
            report.print(spec, List.of(r.summary()), r.issues(), r);
            return r.issues().isEmpty() ? 0 : 2;
        }
    }

    @Command(name = "caption", mixinStandardHelpOptions = true, description = "Caption the selected images (caption/<emotion>/<name>.txt + captions.jsonl).")
    static final class Caption implements Callable<Integer> {
        @Mixin Paths paths;
        @Mixin Images images;
        @Mixin CaptionOptions captionModel;
        @Mixin ReportFile report;
        @Option(names = "--batch-size", defaultValue = "4", description = "Images per captioner call (default: ${DEFAULT-VALUE}).") int batchSize;
        @Spec CommandSpec spec;

        @Override
        public Integer call() throws Exception {
            try (Captioners.Opened opened = Captioners.open(captionModel, spec.commandLine().getErr())) {
                CaptionStage.Report r = paths.pipeline().caption(opened.captioner(),
                        new CaptionStage.Options(images.selection(Selection.CONVERSATION), batchSize, true));
                report.print(spec, List.of(r.summary()), r.issues(), r);
                return r.failed() > 0 || r.interrupted() ? 2 : 0;
            }
        }
    }

    @Command(name = "cap-anno", mixinStandardHelpOptions = true, description = "Caption + attributes text blocks (cap-ano/<emotion>/<name>.txt), as the seed writes them.")
    static final class CapAnno implements Callable<Integer> {
        @Mixin Paths paths;
        @Mixin Images images;
        @Mixin ReportFile report;
        @Spec CommandSpec spec;

        @Override
        public Integer call() throws Exception {
            CapAnnoStage.Report r = paths.pipeline().capAnno(images.selection(Selection.CONVERSATION));
            report.print(spec, List.of(r.summary()), r.skipped(), r);
            return 0;
        }
    }

    @Command(name = "generate", mixinStandardHelpOptions = true,
            description = {"Ask the chat LLM for reasoning or conversation instructions about each selected image (its cap-anno block as the message).",
                    "Retries 429/5xx/timeouts with back-off (Retry-After honoured), caches replies on disk, logs tokens per request; the API key comes from OPENAI_API_KEY.",
                    "Stops at once, with the cause, when the endpoint cannot be reached, refuses the key, or answers with something that is not JSON."})
    static final class Generate implements Callable<Integer> {
        @Mixin Paths paths;
        @Mixin Images images;
        @Mixin Llm llm;
        @Mixin ReportFile report;
        @Option(names = "--kind", required = true, description = "Which instructions: reasoning or conversation.") String kind;
        @Option(names = "--system-prompt", paramLabel = "FILE", description = "The seed's prompt/reasoning.txt or conversation.txt instead of ours.") Path systemPrompt;
        @Spec CommandSpec spec;

        @Override
        public Integer call() throws Exception {
            InstructionKind k = InstructionKind.parse(kind);
            GenerateStage.Options o = GenerateStage.Options.of(k, llm.options()).withSelection(images.selection(k.defaultSelection()));
            if (systemPrompt != null) {
                o = o.withSystemPromptFile(systemPrompt);
            }
            GenerateStage.Report r = paths.pipeline().generate(o);
            report.print(spec, List.of(r.summary()), r.issues(), r);
            return exitCode(spec, r);
        }
    }

    /**
     * 1 with the cause on stderr when the run stopped on something every request would repeat (endpoint, key,
     * run files), 2 when images are left without a reply (a rerun does them), 0 otherwise.
     */
    static int exitCode(CommandSpec spec, GenerateStage.Report r) {
        switch (r.stopped()) {
            case AUTH, UNREACHABLE, NOT_JSON, WRITE_ERROR -> {
                spec.commandLine().getErr().println("emovit: " + r.stopMessage());
                return 1;
            }
            default -> {
                return r.failed() > 0 || r.notStarted() > 0 ? 2 : 0;
            }
        }
    }

    @Command(name = "assemble", mixinStandardHelpOptions = true,
            description = "Parse the replies into Q/A records, add the categorical records, shuffle, write all.json / all.jsonl and a summary.")
    static final class Assemble implements Callable<Integer> {
        @Mixin Paths paths;
        @Mixin ReportFile report;
        @Option(names = "--import", paramLabel = "KIND=FILE", description = "A released set to add (e.g. conversation=Conversation.json).") Map<String, Path> imports;
        @Spec CommandSpec spec;

        @Override
        public Integer call() throws Exception {
            DataPipeline p = paths.pipeline();
            Assembler.Options d = p.defaultAssembleOptions();
            if (imports != null) {
                List<Assembler.ImportSource> list = imports.entrySet().stream().map(e -> new Assembler.ImportSource(e.getKey(), e.getValue())).toList();
                d = new Assembler.Options(d.replies(), d.categorical(), list, d.shuffleSeed(), d.allJson(), d.allJsonl(), d.summaryJson());
            }
            Assembler.Result r = p.assemble(d);
            report.print(spec, List.of(r.summary().line() + "; wrote " + d.allJson() + ", " + d.allJsonl()
                    + (d.summaryJson() == null ? "" : ", " + d.summaryJson())), r.summary().skipped(), r.summary().toJson());
            return 0;
        }
    }

    @Command(name = "all", mixinStandardHelpOptions = true, description = "The whole chain: caption -> cap-anno -> generate (both kinds) -> assemble.")
    static final class All implements Callable<Integer> {
        @Mixin Paths paths;
        @Mixin Llm llm;
        @Mixin CaptionOptions captionModel;
        @Mixin ReportFile report;
        @Option(names = "--reasoning-range", defaultValue = "0..99", paramLabel = "A..B",
                description = "Train indices per class to ask reasoning instructions for (default: ${DEFAULT-VALUE}, as the seed).") String reasoning;
        @Option(names = "--conversation-range", defaultValue = "0..999", paramLabel = "A..B",
                description = "Train indices per class to ask conversation instructions for (default: ${DEFAULT-VALUE}, as the seed).") String conversation;
        @Option(names = "--categorical-range", defaultValue = "1000..5599", paramLabel = "A..B",
                description = "Train indices per class for the categorical records (default: ${DEFAULT-VALUE}, as the seed).") String categorical;
        @Spec CommandSpec spec;

        @Override
        public Integer call() throws Exception {
            PrintWriter out = spec.commandLine().getOut();
            DataPipeline.ChainOptions d = DataPipeline.ChainOptions.defaults(llm.options());
            Map<InstructionKind, Selection> gen = new LinkedHashMap<>();
            gen.put(InstructionKind.REASONING, range("train", reasoning));
            gen.put(InstructionKind.CONVERSATION, range("train", conversation));
            DataPipeline.ChainOptions o = new DataPipeline.ChainOptions(gen, d.systemPromptFiles(), d.llm(), 4, range("train", categorical),
                    d.imports(), d.shuffleSeed());
            o.llm().requireKey();   // before the captioning model is loaded
            try (Captioners.Opened opened = Captioners.open(captionModel, spec.commandLine().getErr())) {
                DataPipeline.ChainReport r = paths.pipeline().runAll(opened.captioner(), o);
                List<DataIssue> issues = new ArrayList<>();
                r.captions().forEach(c -> issues.addAll(c.issues()));
                r.capAnno().forEach(c -> issues.addAll(c.skipped()));
                r.generate().values().forEach(stage -> issues.addAll(stage.issues()));
                if (r.finished()) {
                    issues.addAll(r.assembly().summary().skipped());
                }
                report.print(spec, r.summary(), issues, r.finished() ? r.assembly().summary().toJson() : r.generate());
                out.println(r.finished() ? "finished" : "stopped before assembly (run again to continue)");
                for (GenerateStage.Report stage : r.generate().values()) {
                    if (stage.stopped() != GenerateStage.StopReason.NONE && stage.stopped() != GenerateStage.StopReason.BUDGET) {
                        return exitCode(spec, stage);
                    }
                }
                return r.finished() ? 0 : 2;
            }
        }

        private static Selection range(String split, String r) {
            int[] a = Selection.parseRange(r);
            return new Selection(split, a[0], a[1], EnumSet.allOf(Emotion.class));
        }
    }
}
