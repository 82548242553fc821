package org.emovit.cli;

import org.emovit.options.ModelOptions;
import java.io.PrintWriter;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.emovit.api.EmbeddedModel;
import org.emovit.serve.EmoVitServer;
import org.emovit.serve.ServerSettings;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;
import sun.misc.Signal;

/** Serves the model over HTTP until SIGTERM or Ctrl-C, then stops gracefully and exits 0. */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = {"Serve the model: OpenAI-compatible POST /v1/chat/completions (images as data URLs), POST /v1/emotions, "
                + "GET /v1/models, /health, /ready, /metrics, and a web page at /.",
                "Without model options: the embedded tiny random-weight model. SIGTERM or Ctrl-C: stop accepting, finish what is "
                        + "in flight, exit 0."})
public final class ServeCommand implements Callable<Integer> {

    @Mixin
    ModelOptions modelOptions;

    @Option(names = "--host", description = "Interface to bind (default: 127.0.0.1; 0.0.0.0 when an API key is set).")
    String host;

    @Option(names = "--port", defaultValue = "8000", description = "Port; 0 = any free port (default: ${DEFAULT-VALUE}).")
    int port;

    @Option(names = "--api-key", defaultValue = "${env:EMOVIT_API_KEY}",
            description = "Require 'Authorization: Bearer KEY' on /v1/ (default: $EMOVIT_API_KEY; none: loopback only).")
    String apiKey;

    @Option(names = "--max-batch", defaultValue = "16", description = "Most requests in one model pass (default: ${DEFAULT-VALUE}).")
    int maxBatch;

    @Option(names = "--max-wait-ms", defaultValue = "5", description = "How long a pass waits for more requests (default: ${DEFAULT-VALUE}).")
    int maxWaitMs;

    @Option(names = "--max-queue", defaultValue = "256", description = "Most waiting requests; beyond it 429 (default: ${DEFAULT-VALUE}).")
    int maxQueue;

    @Option(names = "--max-body-mb", defaultValue = "20", description = "Largest request body in MiB; beyond it 413 (default: ${DEFAULT-VALUE}).")
    int maxBodyMb;

    @Option(names = "--timeout", defaultValue = "120", paramLabel = "S", description = "Seconds per request before 504 (default: ${DEFAULT-VALUE}).")
    int timeoutSeconds;

    @Option(names = "--allow-remote-images", description = "Accept http(s) image URLs (fetched within 10 s and the body limit).")
    boolean allowRemoteImages;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws InterruptedException {
        PrintWriter err = spec.commandLine().getErr();
        String key = apiKey == null || apiKey.isBlank() ? null : apiKey;
        String bind = host != null ? host : key != null ? "0.0.0.0" : "127.0.0.1";
        if (key == null && !isLoopback(bind)) {
            err.println("emovit: warning: serving on " + bind + " without an API key; anyone who can reach this port can use it "
                    + "(set --api-key or EMOVIT_API_KEY)");
        }
        ServerSettings settings = new ServerSettings(bind, port, key, maxBatch, maxWaitMs, maxQueue, (long) maxBodyMb << 20,
                Duration.ofSeconds(timeoutSeconds), allowRemoteImages);
        if (modelOptions.isEmbedded()) {
            err.println(EmbeddedModel.NOTE);
        }
        CountDownLatch stop = new CountDownLatch(1);
        EmoVitServer server = EmoVitServer.start(modelOptions.spec(), settings);
        // SIGTERM must end in exit 0 after a graceful stop; a shutdown hook alone would exit 143.
        Signal.handle(new Signal("TERM"), s -> stop.countDown());
        Signal.handle(new Signal("INT"), s -> stop.countDown());
        err.println("emovit: serving " + server.modelName() + " on " + server.url() + " (OpenAI base URL " + server.url()
                + "/v1, web page " + server.url() + "/)");
        err.flush();
        stop.await();
        err.println("emovit: stopping: finishing " + server.inFlight() + " request(s) in flight");
        err.flush();
        server.close();
        err.println("emovit: stopped");
        err.flush();
        return 0;
    }

    private static boolean isLoopback(String host) {
        try {
            return InetAddress.getByName(host).isLoopbackAddress();
        } catch (UnknownHostException e) {
            return false;
        }
    }
}
