package org.emovit.data.pipeline;

import org.emovit.data.AnnotateStage;
import org.emovit.data.CapAnnoStage;
import org.emovit.data.CaptionStage;
import org.emovit.data.Captioner;
import org.emovit.data.EmoSet;
import org.emovit.data.InstructionKind;
import org.emovit.data.Progress;
import org.emovit.data.Selection;
import org.emovit.data.WorkDir;
import org.emovit.data.assemble.Assembler;
import org.emovit.data.llm.Budget;
import org.emovit.data.llm.ChatClient;
import org.emovit.data.llm.GenerateStage;
import org.emovit.data.llm.LlmOptions;
import org.emovit.core.Emotion;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * The instruction-data pipeline over one EmoSet-layout folder and one work folder, a method per stage and one for
 * the whole chain (caption, cap-anno, generate, assemble), each stage with its own progress bar.
 *
 * <pre>{@code
 * DataPipeline p = DataPipeline.of(Path.of("EmoSet"), Path.of("emo-work"), System.err);
 * p.caption(myCaptioner, CaptionStage.Options.defaults());
 * p.capAnno(Selection.CONVERSATION);
 * p.generate(GenerateStage.Options.of(InstructionKind.REASONING, LlmOptions.fromEnv()));
 * p.assemble(p.defaultAssembleOptions());
 * // or all of it:
 * p.runAll(myCaptioner, ChainOptions.defaults(LlmOptions.fromEnv()));
 * }</pre>
 *
 * Every stage can be rerun: it skips what is done.
 */
public final class DataPipeline {

    /** The default shuffle seed of {@code all.json} (the seed's training seed; {@code all.py} shuffles unseeded). */
    public static final long DEFAULT_SHUFFLE_SEED = 42;

    private final EmoSet set;
    private final WorkDir work;
    private final PrintStream progress;
    private Function<LlmOptions, ChatClient> clientFactory = LlmOptions::newClient;

    public DataPipeline(EmoSet set, WorkDir work, PrintStream progress) {
        this.set = set;
        this.work = work;
        this.progress = Progress.orQuiet(progress);
    }

    /** {@code progress} may be null for no progress output. */
    public static DataPipeline of(Path emosetRoot, Path workDir, PrintStream progress) {
        return new DataPipeline(EmoSet.open(emosetRoot), new WorkDir(workDir), progress);
    }

    public EmoSet emoSet() {
        return set;
    }

    public WorkDir workDir() {
        return work;
    }

    /** Replaces how chat clients are made from options (default: the OpenAI SDK client). */
    public DataPipeline withClientFactory(Function<LlmOptions, ChatClient> factory) {
        this.clientFactory = factory;
        return this;
    }

    /** Annotations (emotion, brightness, colorfulness from pixels) and a split list for one's own images. */
    public AnnotateStage.Report annotate(AnnotateStage.Options o) throws IOException {
        return new AnnotateStage(set, progress).run(o);
    }

    /** {@code caption/<emotion>/<name>.txt} and {@code captions.jsonl}. */
    public CaptionStage.Report caption(Captioner captioner, CaptionStage.Options o) throws IOException {
        return new CaptionStage(set, work, progress).run(captioner, o);
    }

    /** {@code cap-ano/<emotion>/<name>.txt}. */
    public CapAnnoStage.Report capAnno(Selection selection) throws IOException {
        return new CapAnnoStage(set, work, progress).run(selection);
    }

    /** LLM replies with a client made from {@code o.llm()} (closed afterwards). */
    public GenerateStage.Report generate(GenerateStage.Options o) throws IOException {
        o.llm().requireKey();
        try (ChatClient client = clientFactory.apply(o.llm())) {
            return generate(o, client);
        }
    }

    /** LLM replies with the given client (not closed). */
    public GenerateStage.Report generate(GenerateStage.Options o, ChatClient client) throws IOException {
        return new GenerateStage(set, work, client, progress).run(o);
    }

    /** LLM replies with the given client (not closed) and a budget shared with other runs. */
    public GenerateStage.Report generate(GenerateStage.Options o, ChatClient client, Budget budget) throws IOException {
        return new GenerateStage(set, work, client, progress).run(o, budget);
    }

    public Assembler.Result assemble(Assembler.Options o) throws IOException {
        return new Assembler(set, progress).run(o);
    }

    /**
     * Replies from this work folder's {@code reasoning.jsonl} and {@code conversation.jsonl}, the categorical
     * records of train indices 1000..5599, shuffle seed {@value #DEFAULT_SHUFFLE_SEED}, outputs
     * {@code all.json}, {@code all.jsonl}, {@code summary.json} in the work folder.
     */
    public Assembler.Options defaultAssembleOptions() {
        return new Assembler.Options(
                List.of(new Assembler.ReplySource(InstructionKind.REASONING, work.replies(InstructionKind.REASONING)),
                        new Assembler.ReplySource(InstructionKind.CONVERSATION, work.replies(InstructionKind.CONVERSATION))),
                Selection.CATEGORICAL, List.of(), DEFAULT_SHUFFLE_SEED, work.allJson(), work.allJsonl(), work.summary());
    }

    /**
     * Options of the whole chain.
     *
     * @param generate          per kind to generate, its images (kinds not in the map are not generated); caption
     *                          and cap-anno run on the same images
     * @param systemPromptFiles per kind, a prompt file to use instead of the project's own (optional)
     * @param llm               endpoint, model, retries, budget
     * @param captionBatchSize  images per captioner call
     * @param categorical       categorical records' images, or null for none
     * @param imports           released sets to add
     * @param shuffleSeed       or null to keep the order
     */
    public record ChainOptions(Map<InstructionKind, Selection> generate, Map<InstructionKind, Path> systemPromptFiles,
                               LlmOptions llm, int captionBatchSize, Selection categorical,
                               List<Assembler.ImportSource> imports, Long shuffleSeed) {
        public ChainOptions {
            generate = Map.copyOf(generate);
            systemPromptFiles = Map.copyOf(systemPromptFiles);
            imports = List.copyOf(imports);
        }

        /** The seed's set-up: reasoning 0..99, conversation 0..999, categorical 1000..5599, seed 42. */
        public static ChainOptions defaults(LlmOptions llm) {
            Map<InstructionKind, Selection> g = new LinkedHashMap<>();
            for (InstructionKind k : InstructionKind.values()) {
                g.put(k, k.defaultSelection());
            }
            return new ChainOptions(g, Map.of(), llm, 1, Selection.CATEGORICAL, List.of(), DEFAULT_SHUFFLE_SEED);
        }
    }

    /** What the chain did; {@code assembly} is null when generation stopped early (rerun to finish). */
    public record ChainReport(List<CaptionStage.Report> captions, List<CapAnnoStage.Report> capAnno,
                              Map<InstructionKind, GenerateStage.Report> generate, Assembler.Result assembly) {
        /** Every stage ran to its end (individual images may still have failed; see the reports). */
        public boolean finished() {
            return assembly != null;
        }

        /** One line per stage run, for a person. */
        public List<String> summary() {
            List<String> lines = new ArrayList<>();
            captions.forEach(c -> lines.add(c.summary()));
            capAnno.forEach(c -> lines.add(c.summary()));
            generate.values().forEach(g -> lines.add("generate " + g.summary()));
            lines.add(assembly != null ? assembly.summary().line()
                    : "assemble: not run (a stage stopped early; run again to continue)");
            return lines;
        }
    }

    /**
     * Caption, cap-anno, generate (each kind), assemble; stops before assembly if captioning was interrupted or
     * generation stopped early. The LLM budget of {@code o.llm()} is for the whole chain.
     *
     * @throws IllegalArgumentException before anything runs, when generation needs an API key that is missing
     */
    public ChainReport runAll(Captioner captioner, ChainOptions o) throws IOException {
        if (!o.generate().isEmpty()) {
            // before the captioning, which can take hours: a run without a key could only collect 401s
            o.llm().requireKey();
        }
        List<Selection> imageSets = mergedSelections(o.generate().values());
        List<CaptionStage.Report> captions = new ArrayList<>();
        List<CapAnnoStage.Report> capAnno = new ArrayList<>();
        for (Selection s : imageSets) {
            CaptionStage.Report c = caption(captioner, new CaptionStage.Options(s, o.captionBatchSize(), true));
            captions.add(c);
            if (c.interrupted()) {
                return new ChainReport(captions, capAnno, Map.of(), null);
            }
        }
        for (Selection s : imageSets) {
            capAnno.add(capAnno(s));
        }
        Map<InstructionKind, GenerateStage.Report> gen = new LinkedHashMap<>();
        boolean stoppedEarly = false;
        Budget budget = new Budget(o.llm().maxRequests(), o.llm().maxTokens());
        try (ChatClient client = o.generate().isEmpty() ? null : clientFactory.apply(o.llm())) {
            for (InstructionKind k : InstructionKind.values()) {
                Selection s = o.generate().get(k);
                if (s == null) {
                    continue;
                }
                GenerateStage.Report r = generate(new GenerateStage.Options(k, s, o.systemPromptFiles().get(k), o.llm(),
                        null), client, budget);
                gen.put(k, r);
                if (r.stopped() != GenerateStage.StopReason.NONE) {
                    stoppedEarly = true;
                    break;
                }
            }
        }
        if (stoppedEarly) {
            return new ChainReport(captions, capAnno, gen, null);
        }
        List<Assembler.ReplySource> sources = new ArrayList<>();
        for (InstructionKind k : gen.keySet()) {
            sources.add(new Assembler.ReplySource(k, work.replies(k)));
        }
        Assembler.Result result = assemble(new Assembler.Options(sources, o.categorical(), o.imports(), o.shuffleSeed(),
                work.allJson(), work.allJsonl(), work.summary()));
        return new ChainReport(captions, capAnno, gen, result);
    }

    /** One selection per split covering all of that split's selections (classes joined, index range spanned). */
    static List<Selection> mergedSelections(java.util.Collection<Selection> selections) {
        Map<String, Selection> bySplit = new LinkedHashMap<>();
        for (Selection s : selections) {
            bySplit.merge(s.split(), s, (a, b) -> {
                Set<Emotion> classes = EnumSet.copyOf(a.classes());
                classes.addAll(b.classes());
                return new Selection(a.split(), Math.min(a.from(), b.from()), Math.max(a.to(), b.to()), classes);
            });
        }
        return new ArrayList<>(bySplit.values());
    }
}
