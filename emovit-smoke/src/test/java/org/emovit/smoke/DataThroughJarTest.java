package org.emovit.smoke;

import static org.assertj.core.api.Assertions.assertThat;
import static org.emovit.smoke.Artifacts.emovit;
import static org.emovit.smoke.Inputs.JSON;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.emovit.smoke.Artifacts.Result;
import org.emovit.smoke.Artifacts.Started;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * EmoVIT's instruction data through the jar: {@code emovit data annotate|caption|cap-anno|generate|assemble|all}
 * against a chat-completions server on loopback that fails some requests, with the client killed (SIGKILL) while a
 * request is in flight and run again: the data is complete and no reply is paid for twice.
 */
class DataThroughJarTest {
    static final String[] TINY_CAPTIONS = {"--caption-tokens", "4", "--caption-beams", "1"};

    /** Images only, under image/&lt;emotion&gt;/, as a user's own set starts. */
    static Path ownImages(Path root, int perClass) throws Exception {
        for (int e = 0; e < Inputs.EMOTIONS.size(); e++) {
            for (int i = 0; i < perClass; i++) {
                String label = Inputs.EMOTIONS.get(e);
                Inputs.image(root.resolve("image/" + label + "/" + label + "_" + String.format("%05d", e * 10 + i) + ".jpg"), e * 10 + i);
            }
        }
        return root;
    }

    static String[] args(String... parts) {
        return parts;
    }

    static String[] with(String[] a, String... b) {
        List<String> l = new ArrayList<>(List.of(a));
        l.addAll(List.of(b));
        return l.toArray(new String[0]);
    }

    /** Waits until the program's request is held by the endpoint, then kills it (SIGKILL: no shutdown hook runs). */
    static void killWhileHeld(Started program, ChatEndpoint llm) throws InterruptedException {
        long until = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
        while (!llm.held.await(100, TimeUnit.MILLISECONDS)) {
            assertThat(program.process.isAlive()).as("ended before its request was held:\n%s", program.err()).isTrue();
            assertThat(System.nanoTime()).as("no request held within 3 minutes").isLessThan(until);
        }
        program.process.destroyForcibly();
    }

    @Test
    void everyStageThenGenerateKilledMidRunAndResumedPaysNoReplyTwice(@TempDir Path dir) throws Exception {
        Path emoset = ownImages(dir.resolve("EmoSet"), 2);
        String work = dir.resolve("work").toString();

        Result annotate = emovit(dir, "data", "annotate", "--emoset", emoset.toString());
        assertThat(annotate.code()).as(annotate.both()).isZero();
        JsonNode split = JSON.readTree(emoset.resolve("train.json").toFile());
        assertThat(split.size()).isEqualTo(16);
        JsonNode annotation = JSON.readTree(emoset.resolve(split.get(0).get(2).asText()).toFile());
        assertThat(annotation.has("brightness")).as(annotation.toString()).isTrue();
        assertThat(annotation.has("colorfulness")).as(annotation.toString()).isTrue();

        Result caption = emovit(dir, with(args("data", "caption", "--emoset", emoset.toString(), "--work", work, "--range", "0..1"), TINY_CAPTIONS));
        assertThat(caption.code()).as(caption.both()).isZero();
        List<Path> captions = Artifacts.files(Path.of(work, "caption"));
        assertThat(captions).hasSize(16).allSatisfy(f -> assertThat(Files.readString(f)).isNotBlank());

        Result capAnno = emovit(dir, "data", "cap-anno", "--emoset", emoset.toString(), "--work", work, "--range", "0..1");
        assertThat(capAnno.code()).as(capAnno.both()).isZero();
        assertThat(Artifacts.files(Path.of(work, "cap-ano"))).hasSize(16);

        try (ChatEndpoint llm = new ChatEndpoint()) {
            llm.rateLimited = Set.of(1, 2);
            llm.serverErrors = Set.of(4);
            String[] reasoning = {"data", "generate", "--kind", "reasoning", "--emoset", emoset.toString(), "--work", work,
                    "--range", "0..0", "--base-url", llm.baseUrl(), "--concurrency", "1"};
            Result r = emovit(dir, reasoning);
            assertThat(r.code()).as(r.both()).isZero();
            assertThat(llm.requests.get()).isEqualTo(llm.paidTotal() + 3);   // each failure was tried again

            // conversation: killed while its 6th request waits for an answer, then run again
            llm.hold = llm.requests.get() + 5;
            String[] conversation = {"data", "generate", "--kind", "conversation", "--emoset", emoset.toString(), "--work", work,
                    "--range", "0..1", "--base-url", llm.baseUrl(), "--concurrency", "1"};
            try (Started killed = Artifacts.startEmovit(dir, conversation)) {
                killWhileHeld(killed, llm);
                assertThat(killed.process.waitFor(30, TimeUnit.SECONDS)).isTrue();
            }
            llm.release();
            int paidBeforeResume = llm.paidTotal();
            Result resumed = emovit(dir, conversation);
            assertThat(resumed.code()).as(resumed.both()).isZero();
            assertThat(llm.paidTotal()).isGreaterThan(paidBeforeResume);
            assertThat(llm.paid.values()).as("replies paid per question").allSatisfy(n -> assertThat(n.get()).isEqualTo(1));

            int requests = llm.requests.get();
            Result again = emovit(dir, conversation);
            assertThat(again.code()).as(again.both()).isZero();
            assertThat(llm.requests.get()).as("a finished stage asks for nothing").isEqualTo(requests);
        }

        Result assemble = emovit(dir, "data", "assemble", "--emoset", emoset.toString(), "--work", work);
        assertThat(assemble.code()).as(assemble.both()).isZero();
        JsonNode all = JSON.readTree(Path.of(work, "all.json").toFile());
        assertThat(all.size()).as("a Q/A per reasoning reply (8) and per conversation reply (16)").isEqualTo(8 + 16);
        List<String> imageNames = Artifacts.files(emoset.resolve("image")).stream().map(f -> f.getFileName().toString()).toList();
        for (JsonNode record : all) {
            assertThat(record.get("conversations").size()).isGreaterThanOrEqualTo(2);
            assertThat(imageNames).as(record.toString()).contains(record.get("image").asText());   // EmoVIT's records name the file
        }
    }

    @Test
    void allKilledMidRunAndRunAgainFinishesPayingNoReplyTwice(@TempDir Path dir) throws Exception {
        Path emoset = Inputs.emoset(dir.resolve("EmoSet"), 3);
        String work = dir.resolve("work").toString();
        try (ChatEndpoint llm = new ChatEndpoint()) {
            llm.rateLimited = Set.of(0, 9);
            llm.serverErrors = Set.of(3);
            llm.hold = 14;   // in the conversation stage, after the 8 reasoning replies
            String[] all = with(args("data", "all", "--emoset", emoset.toString(), "--work", work, "--base-url", llm.baseUrl(),
                    "--concurrency", "1", "--reasoning-range", "0..0", "--conversation-range", "0..1", "--categorical-range", "2..2"),
                    TINY_CAPTIONS);
            try (Started killed = Artifacts.startEmovit(dir, all)) {
                killWhileHeld(killed, llm);
                assertThat(killed.process.waitFor(30, TimeUnit.SECONDS)).isTrue();
            }
            llm.release();
            assertThat(Path.of(work, "all.json")).doesNotExist();

            Result resumed = emovit(dir, all);
            assertThat(resumed.code()).as(resumed.both()).isZero();
            assertThat(resumed.out()).contains("finished");
            assertThat(llm.paid.values()).as("replies paid per question").allSatisfy(n -> assertThat(n.get()).isEqualTo(1));
            JsonNode records = JSON.readTree(Path.of(work, "all.json").toFile());
            // one Q/A per reply (8 reasoning, 16 conversation) and one categorical record per class
            assertThat(records.size()).isEqualTo(8 + 16 + 8);
            AtomicInteger categorical = new AtomicInteger();
            records.forEach(r -> categorical.addAndGet(r.toString().contains("Predict emotion") ? 1 : 0));
            assertThat(categorical.get()).isGreaterThanOrEqualTo(8);
        }
    }
}
