package org.emovit.serve;

import static org.assertj.core.api.Assertions.assertThat;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionContentPart;
import com.openai.models.chat.completions.ChatCompletionContentPartImage;
import com.openai.models.chat.completions.ChatCompletionContentPartText;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import java.util.List;
import org.emovit.core.Prompts;
import org.emovit.api.EmoVit;
import org.emovit.generate.GenerationConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The chat endpoint through the official OpenAI Java SDK: the same answers as EmoVit (what `emovit ask` prints). */
class ChatCompletionsTest {
    static final String QUESTION = "What is in this picture, and how does it feel?";
    static EmoVitServer server;
    static OpenAIClient client;

    @BeforeAll
    static void start() {
        server = Fixtures.start(ServerSettings.defaults());
        client = OpenAIOkHttpClient.builder().baseUrl(server.url() + "/v1").apiKey("unused").maxRetries(0).build();
    }

    @AfterAll
    static void stop() {
        client.close();
        server.close();
    }

    static ChatCompletionCreateParams.Builder params(String sample, String question) {
        return ChatCompletionCreateParams.builder().model(server.modelName()).addUserMessageOfArrayOfContentParts(List.of(
                ChatCompletionContentPart.ofText(ChatCompletionContentPartText.builder().text(question).build()),
                ChatCompletionContentPart.ofImageUrl(ChatCompletionContentPartImage.builder()
                        .imageUrl(ChatCompletionContentPartImage.ImageUrl.builder().url(Fixtures.dataUrl(sample)).build()).build())));
    }

    /** What `emovit ask IMAGE QUESTION` answers: EmoVit.generate with EmoVIT's decoding defaults. */
    static EmoVit.Answer expected(String sample, String question, GenerationConfig config) {
        return Fixtures.reference().generate(List.of(Fixtures.image(sample)), List.of(question), config, null).get(0);
    }

    @Test
    void aChatCompletionWithAnImageAnswersAsEmoVit() {
        ChatCompletion c = client.chat().completions().create(params("photo.jpg", QUESTION).build());
        EmoVit.Answer want = expected("photo.jpg", QUESTION, GenerationConfig.emovit());
        assertThat(c.choices().get(0).message().content()).contains(want.text());
        assertThat(c.usage().orElseThrow().promptTokens()).isEqualTo(want.promptTokens());
        assertThat(c.usage().orElseThrow().completionTokens()).isEqualTo(want.tokens().length);
        assertThat(c.choices().get(0).finishReason().asString()).isEqualTo(want.stopped() ? "stop" : "length");
    }

    @Test
    void theSameStreamedGivesTheSameText() {
        StringBuilder text = new StringBuilder();
        long[] usage = {-1};
        try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions().createStreaming(params("photo.jpg", QUESTION)
                .streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build()).build())) {
            stream.stream().forEach(chunk -> {
                chunk.choices().forEach(ch -> ch.delta().content().ifPresent(text::append));
                chunk.usage().ifPresent(u -> usage[0] = u.completionTokens());
            });
        }
        EmoVit.Answer want = expected("photo.jpg", QUESTION, GenerationConfig.emovit());
        assertThat(text.toString()).isEqualTo(want.text());
        assertThat(usage[0]).isEqualTo(want.tokens().length);
    }

    @Test
    void noQuestionAsksEmoVitsEmotionInstruction() {
        ChatCompletion c = client.chat().completions().create(params("gray.png", "").maxCompletionTokens(12).build());
        String want = expected("gray.png", Prompts.CLASSIFICATION_INSTRUCTION, GenerationConfig.emovit().withMaxNewTokens(12)).text();
        assertThat(c.choices().get(0).message().content()).contains(want);
    }

    @Test
    void maxTokensEndsWithLength() {
        ChatCompletion c = client.chat().completions().create(params("photo.jpg", QUESTION).maxCompletionTokens(3).build());
        EmoVit.Answer want = expected("photo.jpg", QUESTION, GenerationConfig.emovit().withMaxNewTokens(3));
        assertThat(c.choices().get(0).message().content()).contains(want.text());
        assertThat(c.usage().orElseThrow().completionTokens()).isEqualTo(want.tokens().length);
        if (!want.stopped()) {
            assertThat(c.choices().get(0).finishReason().asString()).isEqualTo("length");
        }
    }

    @Test
    void aStopSequenceCutsTheAnswer() {
        String full = expected("photo.jpg", QUESTION, GenerationConfig.emovit().withMaxNewTokens(24)).text();
        String stop = full.substring(full.length() / 2, full.length() / 2 + 2);
        ChatCompletion c = client.chat().completions().create(params("photo.jpg", QUESTION).maxCompletionTokens(24).stop(stop).build());
        assertThat(c.choices().get(0).message().content()).contains(full.substring(0, full.indexOf(stop)));
        assertThat(c.choices().get(0).message().content().orElseThrow()).doesNotContain(stop);
        assertThat(c.choices().get(0).finishReason().asString()).isEqualTo("stop");
    }

    @Test
    void samplingWithASeedIsReproducibleAndDiffersFromGreedy() {
        ChatCompletionCreateParams p = params("photo.jpg", QUESTION).maxCompletionTokens(16).temperature(1.5).seed(7).build();
        String a = client.chat().completions().create(p).choices().get(0).message().content().orElseThrow();
        String b = client.chat().completions().create(p).choices().get(0).message().content().orElseThrow();
        assertThat(a).isEqualTo(b);
        String greedy = expected("photo.jpg", QUESTION, GenerationConfig.emovit().withMaxNewTokens(16)).text();
        assertThat(a).isNotEqualTo(greedy);
    }

    @Test
    void modelsListsTheServedModel() {
        assertThat(client.models().list().data()).extracting(m -> m.id()).containsExactly(server.modelName());
    }
}
