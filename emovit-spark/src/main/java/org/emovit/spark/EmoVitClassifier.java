package org.emovit.spark;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.sha2;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.apache.spark.ml.Transformer;
import org.apache.spark.ml.param.BooleanParam;
import org.apache.spark.ml.param.DoubleParam;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.LongParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.ml.util.DefaultParamsWritable;
import org.apache.spark.ml.util.Identifiable$;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.emovit.api.EmoVit;
import org.emovit.attribution.PatchMap;
import org.emovit.generate.GenerationConfig;
import org.emovit.api.ModelSpec;

/**
 * EmoVIT's classifier as a Spark ML {@link Transformer}, for users' own pipelines ({@code new Pipeline().setStages(...)}),
 * as Spark NLP offers its annotators; {@code emovit spark classify} is this transformer between a reader and a writer.
 *
 * <p>Input: a column of encoded image bytes ({@link #setContentCol}, default {@code content}) and one naming each
 * image ({@link #setPathCol}, default {@code path}): what Spark's {@code binaryFile} source reads. A {@code sha256}
 * column (hex of the bytes) is used when there is one, else computed; an {@code error} column (string: why an image
 * has no bytes, as {@link ImageInput} gives) is honoured when there is one. Output: one {@link ResultSchema#CLASSIFY}
 * row per input row (path, sha256, emotion, p_&lt;emotion&gt; x 8, generated, explanation, error, model, dtype; with
 * {@link #setHeatmap} also heatmap_method, heatmap_emotion and the heatmap, {@link ResultSchema#CLASSIFY_HEATMAP}); the
 * input's other columns are not carried, join on path or sha256 to get them back.
 *
 * <p>The params are the options of {@code emovit classify}, with the same defaults: model spec (model, vit, qformer,
 * llm, preset, config, qformerVocab, overlay; none: the embedded tiny model), dtype, device, mode, batchSize,
 * explain and explainTokens, the decoding settings, maxPixels; heatmap (unset: none, or grad-cam or rollout).
 */
public final class EmoVitClassifier extends Transformer implements DefaultParamsWritable {

    private final String uid;

    private final Param<String> pathCol;
    private final Param<String> contentCol;

    private final Param<String> model;
    private final Param<String> vit;
    private final Param<String> qformer;
    private final Param<String> llm;
    private final Param<String> preset;
    private final Param<String> config;
    private final Param<String> qformerVocab;
    private final Param<String> overlay;
    private final Param<String> dtype;
    private final Param<String> device;

    private final Param<String> mode;
    private final IntParam batchSize;
    private final BooleanParam explain;
    private final IntParam explainTokens;
    private final IntParam beams;
    private final IntParam maxNewTokens;
    private final IntParam minNewTokens;
    private final DoubleParam repetitionPenalty;
    private final DoubleParam lengthPenalty;
    private final LongParam maxPixels;
    private final Param<String> heatmap;

    public EmoVitClassifier() {
        this(Identifiable$.MODULE$.randomUID("emovitClassifier"));
    }

    /** With a given uid (what {@link #copy} and {@link #load} use). */
    public EmoVitClassifier(String uid) {
        this.uid = uid;
        // made here, not where declared: a Param takes its parent's uid when made, and the uid is set just above
        pathCol = new Param<>(this, "pathCol", "column naming each image (string)");
        contentCol = new Param<>(this, "contentCol", "column with the encoded image bytes (binary)");

        model = new Param<>(this, "model", "Hugging Face InstructBLIP directory (unset: the embedded tiny model)");
        vit = new Param<>(this, "vit", "LAVIS layout: EVA ViT-g state dict");
        qformer = new Param<>(this, "qformer", "LAVIS layout: InstructBLIP checkpoint");
        llm = new Param<>(this, "llm", "LAVIS layout: Vicuna Hugging Face directory");
        preset = new Param<>(this, "preset", "LAVIS layout: model sizes preset");
        config = new Param<>(this, "config", "LAVIS layout: HF InstructBLIP config.json giving the sizes");
        qformerVocab = new Param<>(this, "qformerVocab", "Q-Former BERT vocab.txt");
        overlay = new Param<>(this, "overlay", "EmoVIT tuned tensors over the base model");
        dtype = new Param<>(this, "dtype", "precision: f32, bf16 or auto (the machine's choice for the model)");
        device = new Param<>(this, "device", "cpu, cuda (the task's GPU) or cuda:N");

        mode = new Param<>(this, "mode", "score (likelihood of each of the 8 answers) or generate");
        batchSize = new IntParam(this, "batchSize", "images per forward pass");
        explain = new BooleanParam(this, "explain", "also explain each prediction (greedy, explainTokens)");
        explainTokens = new IntParam(this, "explainTokens", "most tokens per explanation");
        beams = new IntParam(this, "beams", "beam count (generate mode); 1 = greedy");
        maxNewTokens = new IntParam(this, "maxNewTokens", "most tokens to generate");
        minNewTokens = new IntParam(this, "minNewTokens", "fewest tokens before EOS is allowed");
        repetitionPenalty = new DoubleParam(this, "repetitionPenalty", "HF repetition penalty");
        lengthPenalty = new DoubleParam(this, "lengthPenalty", "beam ranking by sum(log p) / length^penalty");
        maxPixels = new LongParam(this, "maxPixels", "refuse larger images from their header");
        heatmap = new Param<>(this, "heatmap", "attribution map of each predicted emotion: grad-cam or rollout (unset: none)");
        // the defaults of emovit classify's options (ModelOptions, GenerationOptions, ClassificationOptions)
        GenerationConfig g = GenerationConfig.emovit();
        setDefault(pathCol, "path");
        setDefault(contentCol, "content");
        setDefault(preset, "vicuna7b");
        setDefault(dtype, "auto");
        setDefault(device, "cpu");
        setDefault(mode, "score");
        setDefault(batchSize, 4);
        setDefault(explain, false);
        setDefault(explainTokens, 80);
        setDefault(beams, g.numBeams());
        setDefault(maxNewTokens, g.maxNewTokens());
        setDefault(minNewTokens, g.minNewTokens());
        setDefault(repetitionPenalty, g.repetitionPenalty());
        setDefault(lengthPenalty, g.lengthPenalty());
        setDefault(maxPixels, 89_478_485L);   // PIL's limit, as --max-pixels
    }

    // The params, each by a public method without arguments: that is how Spark ML finds a stage's params (Params.params
    // reflects over such methods), to copy, save and explain them.
    public Param<String> pathCol() { return pathCol; }
    public Param<String> contentCol() { return contentCol; }
    public Param<String> model() { return model; }
    public Param<String> vit() { return vit; }
    public Param<String> qformer() { return qformer; }
    public Param<String> llm() { return llm; }
    public Param<String> preset() { return preset; }
    public Param<String> config() { return config; }
    public Param<String> qformerVocab() { return qformerVocab; }
    public Param<String> overlay() { return overlay; }
    public Param<String> dtype() { return dtype; }
    public Param<String> device() { return device; }
    public Param<String> mode() { return mode; }
    public IntParam batchSize() { return batchSize; }
    public BooleanParam explain() { return explain; }
    public IntParam explainTokens() { return explainTokens; }
    public IntParam beams() { return beams; }
    public IntParam maxNewTokens() { return maxNewTokens; }
    public IntParam minNewTokens() { return minNewTokens; }
    public DoubleParam repetitionPenalty() { return repetitionPenalty; }
    public DoubleParam lengthPenalty() { return lengthPenalty; }
    public LongParam maxPixels() { return maxPixels; }
    public Param<String> heatmap() { return heatmap; }

    @Override
    public String uid() {
        return uid;
    }

    public EmoVitClassifier setPathCol(String v) { set(pathCol, v); return this; }
    public EmoVitClassifier setContentCol(String v) { set(contentCol, v); return this; }
    public EmoVitClassifier setModel(String v) { set(model, v); return this; }
    public EmoVitClassifier setVit(String v) { set(vit, v); return this; }
    public EmoVitClassifier setQformer(String v) { set(qformer, v); return this; }
    public EmoVitClassifier setLlm(String v) { set(llm, v); return this; }
    public EmoVitClassifier setPreset(String v) { set(preset, v); return this; }
    public EmoVitClassifier setConfig(String v) { set(config, v); return this; }
    public EmoVitClassifier setQformerVocab(String v) { set(qformerVocab, v); return this; }
    public EmoVitClassifier setOverlay(String v) { set(overlay, v); return this; }
    public EmoVitClassifier setDtype(String v) { set(dtype, v); return this; }
    public EmoVitClassifier setDevice(String v) { set(device, v); return this; }
    public EmoVitClassifier setMode(String v) { set(mode, v); return this; }
    public EmoVitClassifier setBatchSize(int v) { set(batchSize, v); return this; }
    public EmoVitClassifier setExplain(boolean v) { set(explain, v); return this; }
    public EmoVitClassifier setExplainTokens(int v) { set(explainTokens, v); return this; }
    public EmoVitClassifier setMaxPixels(long v) { set(maxPixels, v); return this; }
    /** The attribution method of the heatmap columns (grad-cam or rollout), or null for no heatmap. */
    public EmoVitClassifier setHeatmap(String v) { setOrClear(heatmap, v); return this; }

    /** Every model param at once (an unset path in the spec clears the param). */
    public EmoVitClassifier setModelSpec(ModelSpec s) {
        setOrClear(model, s.model());
        setOrClear(vit, s.vit());
        setOrClear(qformer, s.qformer());
        setOrClear(llm, s.llm());
        setOrClear(preset, s.preset());
        setOrClear(config, s.config());
        setOrClear(qformerVocab, s.qformerVocab());
        setOrClear(overlay, s.overlay());
        setOrClear(dtype, s.dtype());
        setOrClear(device, s.device());
        return this;
    }

    /** The decoding settings of generate mode (and the base of the explanations'). */
    public EmoVitClassifier setGeneration(GenerationConfig g) {
        if (g.sampling() != null) {
            throw new IllegalArgumentException("EmoVitClassifier decodes greedily or by beam search; sampling settings are not taken");
        }
        set(beams, g.numBeams());
        set(maxNewTokens, g.maxNewTokens());
        set(minNewTokens, g.minNewTokens());
        set(repetitionPenalty, g.repetitionPenalty());
        set(lengthPenalty, g.lengthPenalty());
        return this;
    }

    private void setOrClear(Param<String> p, String v) {
        if (v == null) {
            clear(p);
        } else {
            set(p, v);
        }
    }

    private String str(Param<String> p) {
        return isDefined(p) ? $(p) : null;
    }

    private int intParam(IntParam p) {
        return (Integer) $(p);
    }

    /** The model these params describe. */
    public ModelSpec modelSpec() {
        return new ModelSpec(str(model), str(vit), str(qformer), str(llm), str(preset), str(config), str(qformerVocab), str(overlay),
                str(dtype), str(device));
    }

    public EmoVit.Mode modeValue() {
        String m = $(mode);
        return switch (m == null ? "" : m.toLowerCase(Locale.ROOT)) {
            case "score" -> EmoVit.Mode.SCORE;
            case "generate" -> EmoVit.Mode.GENERATE;
            default -> throw new IllegalArgumentException("EmoVitClassifier mode must be score or generate, not '" + m + "'");
        };
    }

    public GenerationConfig generation() {
        return new GenerationConfig(intParam(beams), intParam(maxNewTokens), intParam(minNewTokens), (Double) $(repetitionPenalty),
                (Double) $(lengthPenalty));
    }

    /** The heatmap's method, or null when no heatmap was asked for. */
    public PatchMap.Method heatmapMethod() {
        String h = str(heatmap);
        return h == null ? null : PatchMap.Method.parse(h, "EmoVitClassifier heatmap");
    }

    /** How explanations are decoded (greedy, explainTokens), or null without explain: as emovit classify --explain. */
    public GenerationConfig explanation() {
        return (Boolean) $(explain) ? generation().withNumBeams(1).withMaxNewTokens(intParam(explainTokens)) : null;
    }

    /**
     * Checks the input columns and every setting on the driver, so a bad dtype, mode or batch size is one error here
     * rather than one per task: the output is {@link ResultSchema#CLASSIFY}, with the heatmap columns when asked.
     */
    @Override
    public StructType transformSchema(StructType schema) {
        require(schema, $(pathCol), DataTypes.StringType, "pathCol");
        require(schema, $(contentCol), DataTypes.BinaryType, "contentCol");
        List<String> columns = Arrays.asList(schema.fieldNames());
        if (columns.contains("sha256") && !schema.apply("sha256").dataType().equals(DataTypes.StringType)) {
            throw new IllegalArgumentException("EmoVitClassifier: column 'sha256' must be a hex string, not " + schema.apply("sha256").dataType().simpleString());
        }
        if (columns.contains("error") && !schema.apply("error").dataType().equals(DataTypes.StringType)) {
            throw new IllegalArgumentException("EmoVitClassifier: column 'error' must be a string, not " + schema.apply("error").dataType().simpleString());
        }
        if (intParam(batchSize) < 1) {
            throw new IllegalArgumentException("EmoVitClassifier batchSize must be at least 1, not " + intParam(batchSize));
        }
        modelSpec().dtypeName();   // a bad dtype is refused here, once
        modeValue();
        generation();
        explanation();
        return ResultSchema.classify(heatmapMethod() != null);
    }

    private static void require(StructType schema, String column, DataType type, String param) {
        if (!Arrays.asList(schema.fieldNames()).contains(column)) {
            throw new IllegalArgumentException("EmoVitClassifier: no column '" + column + "' (" + param + "); columns: "
                    + Arrays.toString(schema.fieldNames()));
        }
        DataType actual = schema.apply(column).dataType();
        if (!actual.equals(type)) {
            throw new IllegalArgumentException("EmoVitClassifier: column '" + column + "' (" + param + ") must be "
                    + type.simpleString() + ", not " + actual.simpleString());
        }
    }

    @Override
    public Dataset<Row> transform(Dataset<?> dataset) {
        transformSchema(dataset.schema());
        Dataset<Row> in = dataset.toDF();
        List<String> columns = Arrays.asList(in.columns());
        Column content = col(quoted($(contentCol)));
        Column sha256 = columns.contains("sha256") ? col("sha256") : sha2(content, 256);
        Column error = columns.contains("error") ? col("error") : lit(null).cast(DataTypes.StringType);
        // the columns ClassifyPartitions reads, by these names
        Dataset<Row> images = in.select(col(quoted($(pathCol))).as("path"), content.as("content"), sha256.as("sha256"), error.as("error"));
        return images.mapPartitions(new ClassifyPartitions(modelSpec(), modeValue(), generation(), explanation(), intParam(batchSize),
                (Long) $(maxPixels), heatmapMethod()), Encoders.row(ResultSchema.classify(heatmapMethod() != null)));
    }

    /** A column name as col() takes it literally (a dot or space in it is not a path into a struct). */
    private static String quoted(String name) {
        return "`" + name.replace("`", "``") + "`";
    }

    @Override
    public EmoVitClassifier copy(ParamMap extra) {
        return defaultCopy(extra);
    }

    /** Reads a classifier saved with {@code write().save(path)}. */
    public static MLReader<EmoVitClassifier> read() {
        return new DefaultParamsReader<>();
    }

    public static EmoVitClassifier load(String path) {
        return read().load(path);
    }
}
