package org.emovit.data;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** The cap-anno block byte for byte as the seed's cap-anno.py builds it (expected texts produced by it in CPython). */
class CapAnnoTest {

    static ObjectNode json(String s) throws Exception {
        return (ObjectNode) EmoSet.JSON.readTree(s);
    }

    @Test
    void allFieldsInTheSeedsOrderWithoutScene() throws Exception {
        ObjectNode a = json("{\"emotion\": \"amusement\", \"brightness\": 0.4, \"colorfulness\": 0.7, \"scene\": \"playground\","
                + " \"object\": [\"Toy\", \"Person\"], \"facial_expression\": \"happy\", \"human_action\": \"playing\","
                + " \"extra_field\": {\"a\": 1}}");
        assertThat(CapAnno.block("a dog\non grass", a)).isEqualTo(
                "a dog\non grass\n\nemotion: amusement\nbrightness: 0.4\ncolorfulness: 0.7\nobject: ['Toy', 'Person']\n"
                        + "facial_expression: happy\nhuman_action: playing");
    }

    @Test
    void emotionOnly() throws Exception {
        assertThat(CapAnno.block("a dog\non grass", json("{\"emotion\": \"anger\"}")))
                .isEqualTo("a dog\non grass\n\nemotion: anger");
    }

    @Test
    void fileOrderDoesNotMatterAndNullIsNone() throws Exception {
        ObjectNode a = json("{\"human_action\": null, \"object\": [\"Mountain\"], \"colorfulness\": 1.0, \"emotion\": \"awe\","
                + " \"brightness\": 1e-05}");
        assertThat(CapAnno.block("a dog\non grass", a)).isEqualTo(
                "a dog\non grass\n\nemotion: awe\nbrightness: 1e-05\ncolorfulness: 1.0\nobject: ['Mountain']\nhuman_action: None");
    }

    @Test
    void stringsInListsAreReprs() throws Exception {
        ObjectNode a = json("{\"emotion\": \"fear\", \"brightness\": 0, \"object\": [\"Spider's web\", \"Tom \\\"Cat\\\"\","
                + " \"both ' and \\\"\", \"na\\u00efve\\u00a0\\u200b\", \"tab\\tnew\\nline\\u0001\"], \"facial_expression\": \"it's scary\"}");
        assertThat(CapAnno.block("a dog\non grass", a)).isEqualTo(
                "a dog\non grass\n\nemotion: fear\nbrightness: 0\nobject: [\"Spider's web\", 'Tom \"Cat\"', 'both \\' and \"',"
                        + " 'na\u00efve\\xa0\\u200b', 'tab\\tnew\\nline\\x01']\nfacial_expression: it's scary");
    }

    @Test
    void numbersAndNestedValuesAsPythonPrintsThem() throws Exception {
        ObjectNode a = json("{\"emotion\": \"sadness\", \"brightness\": 0.30000000000000004, \"colorfulness\": 1e16,"
                + " \"object\": [1.5e-7, 12345678901234567890, -0.0, NaN, -Infinity, 100.0, 1e22, 123456789.123],"
                + " \"facial_expression\": {\"k\": [true, false]}}");
        assertThat(CapAnno.block("a dog\non grass", a)).isEqualTo(
                "a dog\non grass\n\nemotion: sadness\nbrightness: 0.30000000000000004\ncolorfulness: 1e+16\n"
                        + "object: [1.5e-07, 12345678901234567890, -0.0, nan, -inf, 100.0, 1e+22, 123456789.123]\n"
                        + "facial_expression: {'k': [True, False]}");
    }
}
