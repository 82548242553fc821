package org.emovit.eval;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.emovit.core.Emotion;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MetricsTest {

    static Prediction p(String gold, String predicted) {
        return new Prediction(gold + predicted + Math.random(), "x.jpg", gold, predicted, Map.of(), null, null);
    }

    /** 10 predictions worked out by hand. */
    static List<Prediction> example() {
        List<Prediction> l = new ArrayList<>();
        l.add(p("awe", "awe"));
        l.add(p("awe", "awe"));
        l.add(p("awe", "contentment"));
        l.add(p("contentment", "contentment"));
        l.add(p("contentment", "awe"));
        l.add(p("fear", "fear"));
        l.add(p("fear", "sadness"));
        l.add(p("sadness", "sadness"));
        l.add(p("sadness", "joy"));          // outside the 8: "other"
        l.add(p("anger", "anger"));
        l.add(new Prediction("bad", "bad.jpg", "awe", null, Map.of(), null, "truncated image file"));
        return l;
    }

    @Test
    void handComputedExample() {
        Metrics m = Metrics.of(example());
        assertThat(m.total()).isEqualTo(10);
        assertThat(m.correct()).isEqualTo(6);
        assertThat(m.failed()).isEqualTo(1);
        assertThat(m.accuracy()).isCloseTo(0.6, within(1e-12));
        // awe: tp 2, fp 1 (contentment->awe), fn 1 -> P 2/3, R 2/3, F1 2/3
        assertThat(m.precision(Emotion.AWE)).isCloseTo(2.0 / 3, within(1e-12));
        assertThat(m.recall(Emotion.AWE)).isCloseTo(2.0 / 3, within(1e-12));
        // contentment: tp 1, fp 1, fn 1 -> 1/2
        assertThat(m.f1(Emotion.CONTENTMENT)).isCloseTo(0.5, within(1e-12));
        // fear: tp 1, fp 0, fn 1 -> P 1, R 1/2, F1 2/3
        assertThat(m.f1(Emotion.FEAR)).isCloseTo(2.0 / 3, within(1e-12));
        // sadness: tp 1, fp 1 (fear->sadness), fn 1 -> 1/2
        assertThat(m.f1(Emotion.SADNESS)).isCloseTo(0.5, within(1e-12));
        assertThat(m.f1(Emotion.ANGER)).isCloseTo(1.0, within(1e-12));
        // amusement, disgust, excitement: no support and no prediction -> 0
        double macro = (2.0 / 3 + 0.5 + 2.0 / 3 + 0.5 + 1.0) / 8;
        assertThat(m.macroF1()).isCloseTo(macro, within(1e-12));
        assertThat(m.count(Emotion.SADNESS, 8)).isEqualTo(1);
        assertThat(m.toTable()).contains("accuracy 0.6000").contains("1 failed");
    }

    @Test
    void filesAndPictures(@TempDir Path dir) throws Exception {
        Metrics m = Metrics.of(example());
        m.writeCsv(dir.resolve("c.csv"));
        m.writeJson(dir.resolve("m.json"));
        ConfusionMatrixPlot.writePng(m, dir.resolve("c.png"));
        ConfusionMatrixPlot.writeSvg(m, dir.resolve("c.svg"));
        List<String> csv = Files.readAllLines(dir.resolve("c.csv"));
        assertThat(csv.get(0)).isEqualTo("gold\\predicted,amusement,anger,awe,contentment,disgust,excitement,fear,sadness,other");
        assertThat(csv.get(3)).isEqualTo("awe,0,0,2,1,0,0,0,0,0");
        assertThat(Files.readString(dir.resolve("m.json"))).contains("\"macro_f1\"");
        var img = ImageIO.read(dir.resolve("c.png").toFile());
        assertThat(img.getWidth()).isGreaterThan(500);
        assertThat(Files.readString(dir.resolve("c.svg"))).contains("<svg").contains("sadness").contains("other");
    }
}
