package org.emovit.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.emovit.core.Emotion;
import org.emovit.core.InstructionRecord;
import org.emovit.core.Prompts;
import org.emovit.core.Turn;
import org.emovit.data.assemble.Assembler;
import org.emovit.data.assemble.QaParser;
import org.emovit.data.InstructionKind;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/** Assembly against all.py: sample replies written here, expected results produced by the seed's code in CPython. */
class AssemblerTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    static final Map<String, String> REASONING = new LinkedHashMap<>();
    static final Map<String, String> CONVERSATION = new LinkedHashMap<>();

    static {
        REASONING.put("r1", "Question: Why is the crowd cheering?\n\nAnswer: Because the home team has just scored.\n");
        REASONING.put("r2", "question : What might happen next?\nANSWER:   The storm will pass soon.  ");
        REASONING.put("r3", "Question: A first question?\nAnswer: First answer.\nQuestion: A second question?\nAnswer: Second answer.");
        REASONING.put("r4", "I am sorry, I cannot help with that.");
        REASONING.put("r5", "Question: Q one\nAnswer: A one\nAnswer: A two\n");
        REASONING.put("r6", "Question:\u00a0Is it snowy?\u2003Answer:\u00a0Yes, heavily.\u00a0\n");
        CONVERSATION.put("c1", "Question: What color is the car?\nAnswer: The car is red.\n\nQuestion: Is there a dog in the picture?\n"
                + "Answer: No, there is no dog.\n\nComplex Question: Why might the owner keep the car so clean?\n"
                + "Answer: There are several reasons.\n\nFirst, pride. Second, resale value.");
        CONVERSATION.put("c2", "Question 1: How many people are there?\nAnswer 1: Two people.\nQuestion 2: Are they smiling?\n"
                + "Answer 2: Yes.\nComplex question: What is the event?\nAnswer: A wedding.");
        CONVERSATION.put("c3", "QUESTION: what is this?\nanswer: a cat.\nquestion:where is it?\nANSWER: on a sofa.");
        CONVERSATION.put("c4", "Question: Is it night?\nAnswer: Yes.\nCOMPLEX QUESTION: What does the darkness suggest?\nAnswer: Quiet.\n");
        CONVERSATION.put("c5", "Nothing useful here.");
    }

    static List<List<String>> pairs(InstructionKind k, String text) {
        return QaParser.parse(k, text).stream().map(p -> List.of(p.question(), p.answer())).toList();
    }

    @Test
    void repliesSplitAsTheSeedsRegularExpressionsSplitThem() {
        InstructionKind r = InstructionKind.REASONING;
        InstructionKind c = InstructionKind.CONVERSATION;
        assertThat(pairs(r, REASONING.get("r1"))).containsExactly(List.of("Why is the crowd cheering?", "Because the home team has just scored."));
        assertThat(pairs(r, REASONING.get("r2"))).containsExactly(List.of("What might happen next?", "The storm will pass soon."));
        assertThat(pairs(r, REASONING.get("r3"))).containsExactly(List.of("A first question?", "First answer."),
                List.of("A second question?", "Second answer."));
        assertThat(pairs(r, REASONING.get("r4"))).isEmpty();
        assertThat(pairs(r, REASONING.get("r5"))).containsExactly(List.of("Q one", "A one"));
        assertThat(pairs(r, REASONING.get("r6"))).containsExactly(List.of("Is it snowy?", "Yes, heavily."));
        assertThat(pairs(c, CONVERSATION.get("c1"))).containsExactly(List.of("What color is the car?", "The car is red."),
                List.of("Is there a dog in the picture?", "No, there is no dog."),
                List.of("Why might the owner keep the car so clean?", "There are several reasons.\n\nFirst, pride. Second, resale value."));
        // the seed's look-ahead does not stop at a numbered "Question 2:", so the first answer runs on
        assertThat(pairs(c, CONVERSATION.get("c2"))).containsExactly(
                List.of("How many people are there?", "Two people.\nQuestion 2: Are they smiling?\nAnswer 2: Yes."),
                List.of("What is the event?", "A wedding."));
        assertThat(pairs(c, CONVERSATION.get("c3"))).containsExactly(List.of("what is this?", "a cat."), List.of("where is it?", "on a sofa."));
        assertThat(pairs(c, CONVERSATION.get("c4"))).containsExactly(List.of("Is it night?", "Yes."),
                List.of("What does the darkness suggest?", "Quiet."));
        assertThat(pairs(c, CONVERSATION.get("c5"))).isEmpty();
    }

    @Test
    void caseInsensitivityFoldsTheSameCharactersAsPython() {
        // CPython 3.11: the non-ASCII code points that (?i) matches against the letters of these words
        Map<Character, List<Integer>> python = Map.of('s', List.of(0x17f), 'i', List.of(0x130, 0x131));
        for (char l : "questionanswercomplex".toCharArray()) {
            Pattern p = Pattern.compile(String.valueOf(l), Pattern.CASE_INSENSITIVE | Pattern.UNICODE_CASE);
            List<Integer> java = new ArrayList<>();
            for (int cp = 0x80; cp <= 0x10FFFF; cp++) {
                // Java's case-insensitive matching compares these mappings; skip code points none of which is ASCII
                if (Character.toLowerCase(cp) >= 0x80 && Character.toUpperCase(cp) >= 0x80
                        && Character.toLowerCase(Character.toUpperCase(cp)) >= 0x80
                        && Character.toUpperCase(Character.toLowerCase(cp)) >= 0x80) {
                    continue;
                }
                if (p.matcher(new String(Character.toChars(cp))).matches()) {
                    java.add(cp);
                }
            }
            assertThat(java).as("letter " + l).isEqualTo(python.getOrDefault(l, List.of()));
        }
    }

    @Test
    void theClassificationInstructionIsTheSeedsString() {
        assertThat(Prompts.CLASSIFICATION_INSTRUCTION).isEqualTo("Please select the emotion closest to the image from the following "
                + "options:amusement, anger, awe, contentment, disgust, excitement, fear and sadness (Do not provide answers "
                + "outside of the candidates options.) Please answer in the following format:  Predict emotion:");
        assertThat(Prompts.answer(Emotion.FEAR)).isEqualTo("Predict emotion: fear");
        assertThat(Prompts.trainingAnswer("Complex answer: Complex.")).isEqualTo("answer: .");
    }

    /** Writes the sample replies: reasoning in the seed's folders (one with CRLF), conversation as a generate JSONL. */
    static Path[] writeReplies(Path work) throws Exception {
        Path reasoning = work.resolve("reasoning");
        String[][] rf = {{"amusement", "amusement_00100", "r1"}, {"amusement", "amusement_00101", "r2"},
                {"anger", "anger_00100", "r3"}, {"awe", "awe_00100", "r4"}, {"awe", "awe_00101", "r5"}, {"fear", "fear_00100", "r6"}};
        for (String[] f : rf) {
            Path p = reasoning.resolve(f[0]).resolve(f[1] + ".txt");
            Files.createDirectories(p.getParent());
            String text = REASONING.get(f[2]);
            Files.writeString(p, f[2].equals("r2") ? text.replace("\n", "\r\n") : text, StandardCharsets.UTF_8);
        }
        String[][] cf = {{"contentment", "contentment_00100", "c1"}, {"contentment", "contentment_00101", "c2"},
                {"disgust", "disgust_00100", "c3"}, {"excitement", "excitement_00100", "c4"}, {"sadness", "sadness_00100", "c5"}};
        StringBuilder jsonl = new StringBuilder();
        for (String[] f : cf) {
            ObjectNode r = JSON.createObjectNode();
            r.put("key", f[0] + "/" + f[1]).put("emotion", f[0]).put("name", f[1]).put("image", f[1] + ".jpg")
                    .put("response", CONVERSATION.get(f[2]));
            jsonl.append(JSON.writeValueAsString(r)).append('\n');
        }
        Path conv = work.resolve("conversation.jsonl");
        Files.writeString(conv, jsonl.toString());
        return new Path[] {reasoning, conv};
    }

    @Test
    void reproducesAllPyByteForByte(@TempDir Path tmp) throws Exception {
        TestSets.Made m = TestSets.emoSet(tmp.resolve("emoset"), 2);
        Path work = tmp.resolve("work");
        Path[] src = writeReplies(work);
        Assembler.Options o = new Assembler.Options(
                List.of(new Assembler.ReplySource(InstructionKind.REASONING, src[0]),
                        new Assembler.ReplySource(InstructionKind.CONVERSATION, src[1])),
                new Selection("train", 1, 2, EnumSet.allOf(Emotion.class)), List.of(), 42L,
                work.resolve("all.json"), work.resolve("all.jsonl"), work.resolve("summary.json"));
        Assembler.Result r = new Assembler(EmoSet.open(m.root()), null).run(o);

        // all.py (listing folders in sorted order, categorical range 1..1, random.seed(42)) writes exactly this
        byte[] allJson = Files.readAllBytes(work.resolve("all.json"));
        assertThat(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(allJson)))
                .isEqualTo("8b2911813978c97efb47d7fa330d66d18ebc65b345b2d28332b4efdc21bd39e9");
        assertThat(new String(allJson, StandardCharsets.US_ASCII)).startsWith("[\n  {\n    \"id\": \"00101\",\n    \"image\": \"anger_00101.jpg\",");

        Assembler.Summary s = r.summary();
        assertThat(s.total()).isEqualTo(23);
        assertThat(s.byKindAndClass().get("reasoning")).containsExactlyInAnyOrderEntriesOf(
                Map.of("amusement", 2, "anger", 2, "awe", 1, "fear", 1));
        assertThat(s.byKindAndClass().get("conversation")).containsExactlyInAnyOrderEntriesOf(
                Map.of("contentment", 5, "disgust", 2, "excitement", 2));
        assertThat(s.byKindAndClass().get("categorical")).hasSize(8).allSatisfy((k, v) -> assertThat(v).isEqualTo(1));
        assertThat(s.repliesUsed()).containsEntry("reasoning", 5).containsEntry("conversation", 4);
        assertThat(s.skipped()).anyMatch(d -> d.item().equals("awe/awe_00100") && d.reason().contains("no \"Question"))
                .anyMatch(d -> d.item().equals("sadness/sadness_00100"));

        List<String> lines = Files.readAllLines(work.resolve("all.jsonl"));
        assertThat(lines).hasSize(23);
        JsonNode fromJson = JSON.readTree(allJson);
        for (int i = 0; i < 23; i++) {
            assertThat(JSON.readTree(lines.get(i))).isEqualTo(fromJson.get(i));
        }
        JsonNode summary = JSON.readTree(work.resolve("summary.json").toFile());
        assertThat(summary.get("total").asInt()).isEqualTo(23);
        assertThat(summary.get("records_by_kind").get("conversation").get("total").asInt()).isEqualTo(9);
    }

    @Test
    void recordStructureUnshuffled(@TempDir Path tmp) throws Exception {
        TestSets.Made m = TestSets.emoSet(tmp.resolve("emoset"), 3);
        Path[] src = writeReplies(tmp.resolve("work"));
        Assembler.Result r = new Assembler(EmoSet.open(m.root()), null).run(new Assembler.Options(
                List.of(new Assembler.ReplySource(InstructionKind.REASONING, src[0]),
                        new Assembler.ReplySource(InstructionKind.CONVERSATION, src[1])),
                null, List.of(), null, null, null, null));
        List<InstructionRecord> recs = r.records();
        assertThat(recs).hasSize(15);
        assertThat(recs.get(0)).isEqualTo(new InstructionRecord("00100", "amusement_00100.jpg",
                List.of(Turn.human("Why is the crowd cheering?"), Turn.gpt("Because the home team has just scored.")),
                "reasoning", "amusement"));
        assertThat(recs.get(2).id()).isEqualTo("00100");
        assertThat(recs.get(3).conversations().get(0).value()).isEqualTo("A second question?");
        assertThat(recs.get(8).toJson().toString()).isEqualTo("{\"id\":\"00100\",\"image\":\"contentment_00100.jpg\","
                + "\"conversations\":[{\"from\":\"human\",\"value\":\"Why might the owner keep the car so clean?\"},"
                + "{\"from\":\"gpt\",\"value\":\"There are several reasons.\\n\\nFirst, pride. Second, resale value.\"}]}");
    }

    @Test
    void categoricalRecordsForAGivenSplitAndImportedReleasedSets(@TempDir Path tmp) throws Exception {
        TestSets.Made m = TestSets.emoSet(tmp.resolve("emoset"), 4);
        Path released = tmp.resolve("Conversation.json");
        Files.writeString(released, "[{\"id\": \"00007\", \"image\": \"awe_00007.jpg\", \"conversations\": [{\"from\": \"human\","
                + " \"value\": \"Q\"}, {\"from\": \"gpt\", \"value\": \"A\"}]},\n {\"id\": \"00008\", \"conversations\": []},\n"
                + " {\"id\": 9, \"image\": \"pic_9.jpg\", \"conversations\": [{\"from\": \"human\", \"value\": \"Q2\"},"
                + " {\"from\": \"gpt\", \"value\": \"A2\"}]}]");
        Path releasedJsonl = tmp.resolve("Reasoning.jsonl");
        Files.writeString(releasedJsonl, "{\"id\": \"00001\", \"image\": \"fear_00001.jpg\", \"conversations\": [{\"from\": \"human\","
                + " \"value\": \"Why?\"}, {\"from\": \"gpt\", \"value\": \"Because.\"}]}\n");
        Assembler.Result r = new Assembler(EmoSet.open(m.root()), null).run(new Assembler.Options(List.of(),
                new Selection("val", 0, 1000, EnumSet.of(Emotion.AWE, Emotion.SADNESS)),
                List.of(new Assembler.ImportSource("conversation-released", released),
                        new Assembler.ImportSource("reasoning-released", releasedJsonl)),
                null, null, null, null));
        List<InstructionRecord> recs = r.records();
        assertThat(recs).hasSize(5);
        assertThat(recs.get(0)).isEqualTo(new InstructionRecord("00100", "awe_00100.png",
                List.of(Turn.human(Prompts.CLASSIFICATION_INSTRUCTION), Turn.gpt("Predict emotion: awe")), "categorical", "awe"));
        assertThat(recs.get(1).image()).isEqualTo("sadness_00100.png");
        assertThat(recs.get(2).kind()).isEqualTo("conversation-released");
        assertThat(recs.get(3).id()).isEqualTo("9");
        assertThat(recs.get(3).emotion()).isEqualTo("unknown");
        assertThat(recs.get(4).emotion()).isEqualTo("fear");
        assertThat(r.summary().skipped()).anyMatch(d -> d.item().equals("Conversation.json[1]") && d.reason().equals("no 'image'"));
        // the default categorical range on a split that is too short is reported, not an error
        Assembler.Result def = new Assembler(EmoSet.open(m.root()), null).run(new Assembler.Options(List.of(),
                Selection.CATEGORICAL, List.of(), null, null, null, null));
        assertThat(def.records()).isEmpty();
        assertThat(def.summary().skipped()).hasSize(8 + 2).anyMatch(d -> d.reason().contains("indices 1000..5599 do not exist"));
    }
}
