package org.emovit.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;

/** Python behaviour the seed's files depend on; expected values are CPython 3.11's. */
class PythonCompatTest {

    @Test
    void floatReprIsPythons() {
        assertThat(PyText.floatRepr(0.4)).isEqualTo("0.4");
        assertThat(PyText.floatRepr(1.0)).isEqualTo("1.0");
        assertThat(PyText.floatRepr(0.0)).isEqualTo("0.0");
        assertThat(PyText.floatRepr(-0.0)).isEqualTo("-0.0");
        assertThat(PyText.floatRepr(0.1 + 0.2)).isEqualTo("0.30000000000000004");
        assertThat(PyText.floatRepr(2e-3)).isEqualTo("0.002");
        assertThat(PyText.floatRepr(1.0 / 3)).isEqualTo("0.3333333333333333");
        assertThat(PyText.floatRepr(Double.MIN_VALUE)).isEqualTo("5e-324");
        assertThat(PyText.floatRepr(Double.MAX_VALUE)).isEqualTo("1.7976931348623157e+308");
        assertThat(PyText.floatRepr(9007199254740993.0)).isEqualTo("9007199254740992.0");
        assertThat(PyText.floatRepr(1e15)).isEqualTo("1000000000000000.0");
        assertThat(PyText.floatRepr(1e16)).isEqualTo("1e+16");
        assertThat(PyText.floatRepr(123456789012345678.0)).isEqualTo("1.2345678901234568e+17");
        assertThat(PyText.floatRepr(0.0001)).isEqualTo("0.0001");
        assertThat(PyText.floatRepr(0.00001)).isEqualTo("1e-05");
        assertThat(PyText.floatRepr(-1.5e-10)).isEqualTo("-1.5e-10");
        assertThat(PyText.floatRepr(Double.NaN)).isEqualTo("nan");
        assertThat(PyText.floatRepr(Double.NEGATIVE_INFINITY)).isEqualTo("-inf");
        for (int i = 0; i <= 10; i++) {
            assertThat(PyText.floatRepr(Attributes.quantise(i / 10.0))).isEqualTo(i == 10 ? "1.0" : "0." + i);
        }
    }

    @Test
    void stripAndSpacesAreStrs() {
        assertThat(PyText.strip("\u00a0\u2003 x y \u3000\u001c\n")).isEqualTo("x y");
        assertThat(PyText.strip("\u200bx")).isEqualTo("\u200bx");
        assertThat(PyText.isSpace(0x85)).isTrue();
        assertThat(PyText.isSpace(0x200b)).isFalse();
    }

    @Test
    void textIsReadWithUniversalNewlines(@TempDir Path tmp) throws Exception {
        Path f = tmp.resolve("a.txt");
        Files.write(f, "a\r\nb\rc\n\uFEFFd".getBytes(StandardCharsets.UTF_8));
        assertThat(PyText.readText(f)).isEqualTo("a\nb\nc\n\uFEFFd");
        Files.write(f, new byte[] {'a', (byte) 0xC3});
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> PyText.readText(f)).hasMessageContaining("UTF-8");
    }

    @Test
    void shuffleIsPythonsRandomShuffle() {
        assertThat(shuffled(42, 10)).containsExactly(7, 3, 2, 8, 5, 6, 9, 4, 0, 1);
        assertThat(shuffled(0, 10)).containsExactly(7, 8, 1, 5, 3, 4, 2, 0, 9, 6);
        assertThat(shuffled(123456789012L, 10)).containsExactly(2, 8, 5, 7, 9, 3, 1, 4, 0, 6);
        assertThat(shuffled(-5, 10)).containsExactly(2, 3, 1, 0, 8, 7, 6, 5, 4, 9);
        List<Integer> big = shuffled(42, 1000);
        assertThat(big.subList(0, 10)).containsExactly(776, 507, 895, 922, 33, 483, 85, 750, 354, 523);
        assertThat(IntStream.range(0, 1000).mapToLong(i -> (long) i * big.get(i)).sum()).isEqualTo(250181598L);
        PythonRandom r = new PythonRandom(BigInteger.TWO.pow(70).add(BigInteger.valueOf(3)));
        assertThat(r.getrandbits(32)).isEqualTo(701776502L);
        assertThat(r.getrandbits(7)).isEqualTo(42L);
    }

    private static List<Integer> shuffled(long seed, int n) {
        List<Integer> x = new ArrayList<>(IntStream.range(0, n).boxed().toList());
        new PythonRandom(seed).shuffle(x);
        return x;
    }

    @Test
    void jsonDumpIsPythons() throws Exception {
        JsonNode recs = EmoSet.JSON.readTree("[{\"id\": \"00012\", \"image\": \"amusement_00012.jpg\", \"conversations\": ["
                + "{\"from\": \"human\", \"value\": \"Why \\\"this\\\"?\\n\\tWith a back\\\\slash\"},"
                + "{\"from\": \"gpt\", \"value\": \"Caf\\u00e9 \\u2014 na\\u00efve \\ud83d\\ude00 \\u007f \\u0001\"}]},"
                + "{\"id\": \"1\", \"image\": \"x.jpg\", \"conversations\": []}]");
        assertThat(PythonJson.dumps(recs, 2)).isEqualTo("[\n  {\n    \"id\": \"00012\",\n    \"image\": \"amusement_00012.jpg\",\n"
                + "    \"conversations\": [\n      {\n        \"from\": \"human\",\n        \"value\": \"Why \\\"this\\\"?\\n\\tWith a back\\\\slash\"\n"
                + "      },\n      {\n        \"from\": \"gpt\",\n        \"value\": \"Caf\\u00e9 \\u2014 na\\u00efve \\ud83d\\ude00 \\u007f \\u0001\"\n"
                + "      }\n    ]\n  },\n  {\n    \"id\": \"1\",\n    \"image\": \"x.jpg\",\n    \"conversations\": []\n  }\n]");
        assertThat(PythonJson.dumps(JsonNodeFactory.instance.arrayNode(), 2)).isEqualTo("[]");
        JsonNode o = EmoSet.JSON.readTree("{\"emotion\": \"awe\", \"brightness\": 0.4, \"x\": [1, 2.5, null, true], \"y\": {}}");
        assertThat(PythonJson.dumps(o, -1)).isEqualTo("{\"emotion\": \"awe\", \"brightness\": 0.4, \"x\": [1, 2.5, null, true], \"y\": {}}");
    }
}
