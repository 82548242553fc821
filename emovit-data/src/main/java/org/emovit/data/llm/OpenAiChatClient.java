package org.emovit.data.llm;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.ObjectMappers;
import com.openai.core.Timeout;
import com.openai.core.http.HttpResponseFor;
import com.openai.errors.OpenAIException;
import com.openai.errors.OpenAIInvalidDataException;
import com.openai.errors.OpenAIIoException;
import com.openai.errors.OpenAIServiceException;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.completions.CompletionUsage;

import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.emovit.core.Errors;

/**
 * {@link ChatClient} over the official OpenAI Java SDK ({@code com.openai:openai-java}), for any
 * OpenAI-compatible {@code /chat/completions} endpoint.
 *
 * <p>The SDK's own retries are switched off ({@code maxRetries(0)}): {@link RequestPolicy} retries, because it
 * must count every request against the run's budget, log each one's tokens, share a {@code Retry-After} pause
 * between workers and stop retrying when asked to; the SDK's loop would hide all of that. Everything else —
 * request building, authentication, timeouts, parsing, error classes with status and headers — is the SDK's.
 * Responses are read leniently (no strict validation), so servers that leave out fields OpenAI sends but this
 * project does not need (ids, timestamps) still work.
 *
 * <p>The reply's body is read here rather than by the SDK's parser, so that a body that is not JSON at all (an
 * HTML page from a proxy or a wrong URL) can be told from a cut-off JSON reply: the first is
 * {@link ChatException.Kind#NOT_JSON} and says what came back, the second is retried.
 */
public final class OpenAiChatClient implements ChatClient {
    /** How much of an unexpected body a message shows. */
    private static final int SHOWN_BYTES = 80;
    private final OpenAIClient client;
    private final String url;

    /**
     * @param baseUrl the API root, e.g. {@code https://api.openai.com/v1} or {@code http://127.0.0.1:8000/v1}
     * @param apiKey  the bearer token (servers that need none accept any)
     * @param timeout the whole-request timeout
     */
    public OpenAiChatClient(String baseUrl, String apiKey, Duration timeout) {
        this.url = baseUrl.replaceAll("/+$", "") + "/chat/completions";
        this.client = OpenAIOkHttpClient.builder()
                .baseUrl(baseUrl)
                .apiKey(apiKey == null || apiKey.isEmpty() ? "no-key" : apiKey)
                .maxRetries(0)
                .timeout(Timeout.builder().request(timeout).connect(timeout).read(timeout).write(timeout).build())
                .build();
    }

    @Override
    public ChatResult complete(String model, double temperature, Long maxCompletionTokens, String system, String user)
            throws ChatException {
        ChatCompletionCreateParams.Builder b = ChatCompletionCreateParams.builder()
                .model(model)
                .temperature(temperature)
                .addSystemMessage(system)
                .addUserMessage(user);
        if (maxCompletionTokens != null) {
            b.maxCompletionTokens(maxCompletionTokens);
        }
        ChatCompletion c;
        try (HttpResponseFor<ChatCompletion> raw = client.chat().completions().withRawResponse().create(b.build())) {
            c = parse(raw);
        } catch (OpenAIServiceException e) {
            throw classify(e);
        } catch (OpenAIIoException e) {
            throw ioFailure(e);
        } catch (OpenAIException | IllegalStateException | IllegalArgumentException e) {
            throw new ChatException(ChatException.Kind.MALFORMED_RESPONSE, 200, null, message(e), e);
        } catch (RuntimeException e) {
            if (isTimeout(e)) {
                throw new ChatException(ChatException.Kind.TIMEOUT, 0, null, message(e), e);
            }
            if (unreachable(e) != null) {
                throw ioFailure(e);
            }
            throw new ChatException(ChatException.Kind.MALFORMED_RESPONSE, 200, null, message(e), e);
        }
        try {
            if (c.choices().isEmpty()) {
                throw new ChatException(ChatException.Kind.MALFORMED_RESPONSE, 200, null, "the reply has no choices", null);
            }
            Optional<String> content = c.choices().get(0).message().content();
            if (content.isEmpty()) {
                throw new ChatException(ChatException.Kind.MALFORMED_RESPONSE, 200, null,
                        "the reply's first choice has no content", null);
            }
            Optional<CompletionUsage> usage = c._usage().isMissing() ? Optional.empty() : c.usage();
            long prompt = usage.map(CompletionUsage::promptTokens).orElse(0L);
            long completion = usage.map(CompletionUsage::completionTokens).orElse(0L);
            String answeredBy = c._model().asString().orElse("");
            return new ChatResult(content.get(), prompt, completion, usage.isPresent(), answeredBy);
        } catch (OpenAIInvalidDataException | IllegalStateException e) {
            throw new ChatException(ChatException.Kind.MALFORMED_RESPONSE, 200, null, message(e), e);
        }
    }

    /** A 2xx reply's body as a chat completion; a body that is not JSON at all is {@code NOT_JSON}. */
    private ChatCompletion parse(HttpResponseFor<ChatCompletion> raw) throws ChatException {
        byte[] body;
        try (InputStream in = raw.body()) {
            body = in.readAllBytes();
        } catch (IOException e) {
            if (isTimeout(e)) {
                throw new ChatException(ChatException.Kind.TIMEOUT, 0, null, message(e), e);
            }
            throw new ChatException(ChatException.Kind.IO, 0, null, "reading the reply from " + url + ": " + message(e), e);
        }
        int first = 0;
        while (first < body.length && Character.isWhitespace(body[first])) {
            first++;
        }
        if (first == body.length || body[first] != '{') {
            List<String> type = raw.headers().values("Content-Type");
            throw new ChatException(ChatException.Kind.NOT_JSON, raw.statusCode(), null, url + " answered HTTP "
                    + raw.statusCode() + " with " + (type.isEmpty() ? "no content type" : type.get(0))
                    + ", not a JSON chat completion; it begins: " + shown(body, first), null);
        }
        try {
            return ObjectMappers.jsonMapper().readValue(body, ChatCompletion.class);
        } catch (IOException e) {
            throw new ChatException(ChatException.Kind.MALFORMED_RESPONSE, raw.statusCode(), null,
                    "unreadable chat completion from " + url + ": " + Errors.firstLine(message(e)), e);
        }
    }

    /** The first bytes of a body, quoted on one line. */
    private static String shown(byte[] body, int from) {
        if (from == body.length) {
            return "(empty body)";
        }
        int n = Math.min(SHOWN_BYTES, body.length - from);
        String s = new String(body, from, n, StandardCharsets.UTF_8).replaceAll("\\s+", " ");
        return "\"" + s + (body.length - from > n ? "..." : "") + "\"";
    }

    /** A connection that could not be made is {@code UNREACHABLE}; anything else on the wire is retried. */
    private ChatException ioFailure(RuntimeException e) {
        if (isTimeout(e)) {
            return new ChatException(ChatException.Kind.TIMEOUT, 0, null, message(e), e);
        }
        Throwable cause = unreachable(e);
        if (cause != null) {
            String why = cause instanceof UnknownHostException ? "unknown host"
                    : cause instanceof ConnectException ? "connection refused" : "no route to host";
            return new ChatException(ChatException.Kind.UNREACHABLE, 0, null, "cannot reach " + url + ": " + why
                    + " (" + cause.getClass().getSimpleName() + ": " + cause.getMessage() + ")", e);
        }
        return new ChatException(ChatException.Kind.IO, 0, null, message(e), e);
    }

    private static Throwable unreachable(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof ConnectException || t instanceof UnknownHostException || t instanceof NoRouteToHostException) {
                return t;
            }
        }
        return null;
    }

    private static ChatException classify(OpenAIServiceException e) {
        int status = e.statusCode();
        Duration retryAfter = RetryAfter.parse(name -> values(e, name), Instant.now());
        ChatException.Kind kind;
        if (status == 429) {
            kind = ChatException.Kind.RATE_LIMITED;
        } else if (status >= 500 || status == 408 || status == 409) {
            kind = ChatException.Kind.SERVER_ERROR;
        } else if (status == 401 || status == 403) {
            kind = ChatException.Kind.AUTH;
        } else if (status >= 200 && status < 300) {
            kind = ChatException.Kind.MALFORMED_RESPONSE;
        } else {
            kind = ChatException.Kind.CLIENT_ERROR;
        }
        return new ChatException(kind, status, retryAfter, message(e), e);
    }

    private static List<String> values(OpenAIServiceException e, String name) {
        List<String> v = e.headers().values(name);
        return v.isEmpty() ? e.headers().values(name.substring(0, 1).toUpperCase() + name.substring(1)) : v;
    }

    private static boolean isTimeout(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof SocketTimeoutException || t instanceof HttpTimeoutException) {
                return true;
            }
            if (t instanceof InterruptedIOException && t.getMessage() != null && t.getMessage().contains("timeout")) {
                return true;
            }
        }
        return false;
    }

    private static String message(Throwable e) {
        String m = e.getMessage();
        if ((m == null || m.isBlank()) && e.getCause() != null) {
            m = e.getCause().toString();
        }
        return m == null ? e.getClass().getSimpleName() : m;
    }

    @Override
    public void close() {
        client.close();
    }
}
