package org.emovit.serve;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** A client that goes away mid-stream frees its place: its row leaves the batch and the next requests run. */
class DisconnectTest {

    @Test
    void aDroppedStreamDoesNotLeakItsSlot() throws Exception {
        // One request at a time, one waiting: a leaked slot would block every later request.
        try (EmoVitServer server = Fixtures.start(ServerSettings.defaults().withLimits(1, 0, 1))) {
            String body = ChatRequestJson.of("photo.jpg", 4000, true).replace("\"max_tokens\":4000", "\"max_tokens\":4000,\"temperature\":1.0,\"seed\":3");
            try (Socket socket = new Socket("127.0.0.1", server.port())) {
                OutputStream out = socket.getOutputStream();
                byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
                out.write(("POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: "
                        + bytes.length + "\r\n\r\n").getBytes(StandardCharsets.UTF_8));
                out.write(bytes);
                out.flush();
                BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
                int chunks = 0;
                String line;
                while (chunks < 3 && (line = in.readLine()) != null) {
                    chunks += line.startsWith("data: {") ? 1 : 0;
                }
                assertThat(chunks).isEqualTo(3);
            }
            // The dropped row ends within a few tokens; then the model is free again.
            long until = System.nanoTime() + 30_000_000_000L;
            String metrics = "";
            while (System.nanoTime() < until) {
                metrics = Fixtures.get(server, "/metrics").body();
                if (Fixtures.metric(metrics, "emovit_cancelled_generations_total") >= 1) {
                    break;
                }
                Thread.sleep(50);
            }
            assertThat(Fixtures.metric(metrics, "emovit_batch_size_count{kind=\"generate\"")).isEqualTo(1);
            assertThat(Fixtures.metric(metrics, "emovit_cancelled_generations_total")).isEqualTo(1);
            assertThat(Fixtures.metric(metrics, "emovit_generated_tokens_total")).isBetween(3.0, 3999.0);
            for (int i = 0; i < 3; i++) {
                assertThat(Fixtures.post(server, "/v1/chat/completions", ChatRequestJson.of("gray.png", 4, false)).statusCode()).isEqualTo(200);
            }
            assertThat(server.inFlight()).isLessThanOrEqualTo(1);   // only the /metrics call below may be running
        }
    }
}
