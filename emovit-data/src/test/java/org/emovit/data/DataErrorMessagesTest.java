package org.emovit.data;

import org.emovit.data.pipeline.DataPipeline;
import org.emovit.core.Emotion;
import org.emovit.data.assemble.Assembler;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.EnumSet;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assumptions.assumeThat;

/** The data stages' failures say which file or folder, and what is wrong with it, in one line. */
class DataErrorMessagesTest {

    @TempDir
    Path tmp;

    static final Selection ONE = new Selection("train", 0, 1, EnumSet.of(Emotion.AMUSEMENT));

    @Test
    void aNonUtf8ImportNamesItsFileInsteadOfInputLength() throws Exception {
        EmoSet set = EmoSet.open(TestSets.emoSet(tmp.resolve("emoset"), 2).root());
        Path imp = tmp.resolve("Conversation.json");
        Files.write(imp, new byte[] {'[', '{', '"', 'a', '"', ':', ' ', '"', (byte) 0xFF, '"', '}', ']'});
        Assembler.Result r = new Assembler(set, null).run(new Assembler.Options(List.of(), null,
                List.of(new Assembler.ImportSource("conversation", imp)), null, null, null, null));
        assertThat(r.summary().skipped()).singleElement().satisfies(i -> {
            assertThat(i.path()).isEqualTo(imp.toString());
            assertThat(i.reason()).contains("UTF-8").doesNotContain("Input length");
        });
    }

    @Test
    void aNonUtf8CaptionSaysWhereTheBadByteIsAndNamesTheFileOnce() throws Exception {
        DataPipeline p = DataPipeline.of(TestSets.emoSet(tmp.resolve("emoset"), 2).root(), tmp.resolve("work"), null);
        p.caption(f -> "a photo", new CaptionStage.Options(ONE, 1, true));
        Path caption = p.workDir().root().resolve("caption/amusement/" + TestSets.name(Emotion.AMUSEMENT, 0) + ".txt");
        Files.write(caption, new byte[] {'a', ' ', 'c', 'a', 't', (byte) 0xC3, '(', '\n'});

        CapAnnoStage.Report r = p.capAnno(ONE);
        assertThat(r.skipped()).filteredOn(i -> caption.toString().equals(i.path())).singleElement().satisfies(i -> {
            assertThat(i.path()).isEqualTo(caption.toString());
            assertThat(i.reason()).isEqualTo("caption unreadable: not UTF-8 text (byte 0xC3 at offset 5)");
            assertThat(i.toString()).containsOnlyOnce(caption.toString());
        });
    }

    @Test
    void aWorkFolderThatIsAFileIsNamedAsSuch() throws Exception {
        Path work = tmp.resolve("work");
        Files.writeString(work, "not a folder");
        DataPipeline p = DataPipeline.of(TestSets.emoSet(tmp.resolve("emoset"), 2).root(), work, null);
        assertThatThrownBy(() -> p.caption(f -> "a photo", new CaptionStage.Options(ONE, 1, true)))
                .hasMessage("cannot write " + work.resolve("captions.jsonl") + ": " + work.toAbsolutePath()
                        + " is a file, not a folder");
    }

    @Test
    void aFolderThatIsNotWritableIsNamedNotATemporaryFile() throws Exception {
        DataPipeline p = DataPipeline.of(TestSets.emoSet(tmp.resolve("emoset"), 2).root(), tmp.resolve("work"), null);
        p.caption(f -> "a photo", new CaptionStage.Options(ONE, 1, true));
        Path capAno = p.workDir().root().resolve("cap-ano");
        Files.createDirectories(capAno);
        Files.setPosixFilePermissions(capAno, PosixFilePermissions.fromString("r-xr-xr-x"));
        try {
            // root writes anyway: the refusal this test is about cannot happen there
            assumeThat(Files.isWritable(capAno)).as("running as a user the permissions apply to").isFalse();
            assertThatThrownBy(() -> p.capAnno(ONE))
                    .hasMessageStartingWith("cannot write " + capAno.resolve("amusement"))
                    .hasMessageEndingWith(": the folder " + capAno.toAbsolutePath() + " is not writable");
        } finally {
            Files.setPosixFilePermissions(capAno, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
    }

    @Test
    void anUnreadableImageIsSaidToBeUnreadableNotACacheFileProblem() throws Exception {
        EmoSet set = EmoSet.open(TestSets.emoSet(tmp.resolve("emoset"), 2).root());
        Path image;
        try (var files = Files.walk(set.root().resolve("image"))) {
            image = files.filter(Files::isRegularFile).sorted().findFirst().orElseThrow();
        }
        Files.setPosixFilePermissions(image, PosixFilePermissions.fromString("---------"));
        try {
            // root reads anyway: the refusal this test is about cannot happen there
            assumeThat(Files.isReadable(image)).as("running as a user the permissions apply to").isFalse();
            AnnotateStage.Report r = new AnnotateStage(set, null).run(new AnnotateStage.Options(true, null));
            assertThat(r.issues()).filteredOn(i -> image.toString().equals(i.path())).singleElement()
                    .satisfies(i -> assertThat(i.reason()).isEqualTo("not readable (permission denied)"));
        } finally {
            Files.setPosixFilePermissions(image, PosixFilePermissions.fromString("rw-r--r--"));
        }
    }
}
