package org.emovit.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.emovit.core.Emotion;
import org.emovit.api.EmoVit;
import org.emovit.generate.GenerationConfig;
import org.emovit.api.InstructBlipProcessor;
import org.emovit.core.Prompts;
import org.emovit.image.RgbImage;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Both classification modes on the tiny model, against computations done here from the model's pieces. */
class EmoVitTest {
    static NoGradGuard noGrad;
    static InstructBlip model;
    static InstructBlipProcessor processor;
    static final Device CPU = new Device("cpu");

    @BeforeAll
    static void load() {
        noGrad = new NoGradGuard();
        Path hf = Fixtures.tinyA().resolve("hf");
        model = InstructBlipLoader.load(ModelSource.huggingFace(hf), ScalarType.Float, CPU);
        processor = InstructBlipProcessor.load(model.config(), hf, hf.resolve("qformer_tokenizer/vocab.txt"));
    }

    @AfterAll
    static void close() {
        model.close();
        noGrad.close();
    }

    static RgbImage image(int seed) {
        byte[] rgb = new byte[40 * 30 * 3];
        java.util.Random r = new java.util.Random(seed);
        r.nextBytes(rgb);
        return new RgbImage(40, 30, rgb);
    }

    /** log p("Predict emotion: label" + EOS) by one uncached forward over the whole sequence. */
    static double directLogLikelihood(RgbImage img, String label) {
        org.emovit.model.InstructBlipInputs batch = processor.encode(List.of(img), List.of(Prompts.CLASSIFICATION_INSTRUCTION));
        int[] answer = processor.llmTokenizer().encode("Predict emotion: " + label, false);
        long[] prompt = batch.inputIds()[0];
        long[] seq = new long[prompt.length + answer.length + 1];
        System.arraycopy(prompt, 0, seq, 0, prompt.length);
        for (int i = 0; i < answer.length; i++) {
            seq[prompt.length + i] = answer[i];
        }
        seq[seq.length - 1] = 2;
        Tensor queries = model.project(model.queryOutputs(model.encodeImage(batch.pixelValues()), batch.qformerInputIds(),
                batch.qformerAttentionMask()));
        Tensor embeds = model.inputEmbeddings(new long[][] {seq}, queries);
        Tensor pos = torch.arange(new Scalar(seq.length), Tensors.options(ScalarType.Long, CPU)).unsqueeze(0);
        Tensor hidden = model.languageModel().forward(embeds, torch.ones(new long[] {1, seq.length}, Tensors.options(ScalarType.Long, CPU)), pos, null);
        float[] logp = Tensors.toFloats(torch.log_softmax(model.languageModel().logits(hidden), -1));
        int vocab = model.config().text().vocabSize();
        double sum = 0;
        for (int j = prompt.length; j < seq.length; j++) {
            sum += logp[(j - 1) * vocab + (int) seq[j]];
        }
        return sum;
    }

    @Test
    void scoreModeIsTheSoftmaxOfTheLabelLikelihoods() {
        EmoVit classifier = new EmoVit(model, processor);
        RgbImage img = image(1);
        EmoVit.Result r = classifier.classify(List.of(img), EmoVit.Mode.SCORE, GenerationConfig.emovit()).get(0);
        double[] ll = new double[8];
        List<String> labels = Emotion.labels();
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < 8; i++) {
            ll[i] = directLogLikelihood(img, labels.get(i));
            max = Math.max(max, ll[i]);
        }
        double z = 0;
        for (double v : ll) {
            z += Math.exp(v - max);
        }
        for (int i = 0; i < 8; i++) {
            assertThat(r.probabilities().get(labels.get(i))).isCloseTo(Math.exp(ll[i] - max) / z, within(1e-5));
        }
        assertThat(r.probabilities().values().stream().mapToDouble(Double::doubleValue).sum()).isCloseTo(1.0, within(1e-9));
        assertThat(labels).contains(r.label());
        assertThat(r.emotion()).isNotNull();
    }

    @Test
    void aBatchGivesTheSameAnswersAsOneByOne() {
        EmoVit classifier = new EmoVit(model, processor);
        List<RgbImage> images = List.of(image(1), image(2), image(3));
        for (EmoVit.Mode mode : EmoVit.Mode.values()) {
            GenerationConfig g = GenerationConfig.emovit().withMaxNewTokens(12);
            List<EmoVit.Result> batch = classifier.classify(images, mode, g);
            List<EmoVit.Result> single = new ArrayList<>();
            for (RgbImage img : images) {
                single.add(classifier.classify(List.of(img), mode, g).get(0));
            }
            for (int i = 0; i < images.size(); i++) {
                assertThat(batch.get(i).label()).isEqualTo(single.get(i).label());
                assertThat(batch.get(i).generated()).isEqualTo(single.get(i).generated());
                for (String label : batch.get(i).probabilities().keySet()) {
                    assertThat(batch.get(i).probabilities().get(label)).isCloseTo(single.get(i).probabilities().get(label), within(1e-5));
                }
            }
        }
    }

    @Test
    void generateModeReportsTheDecodedTextAndItsParse() {
        EmoVit classifier = new EmoVit(model, processor);
        GenerationConfig greedy = new GenerationConfig(1, 10, 1, 1.0, 1.0);
        RgbImage img = image(4);
        EmoVit.Result a = classifier.classify(List.of(img), EmoVit.Mode.GENERATE, greedy).get(0);
        assertThat(a.generated()).isNotNull();
        assertThat(a.probabilities()).isEmpty();
        if (a.emotion() != null) {
            assertThat(Emotion.labels()).contains(a.label());
        }
    }
}
