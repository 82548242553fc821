package org.emovit.cli;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.zip.CRC32;

/**
 * One UTF-8 text entry (a PNG iTXt chunk) put into PNG bytes right after the header, and read back from a file.
 * iTXt rather than tEXt because the text is an image's path, which need not be Latin-1.
 */
final class PngText {
    private static final int SIGNATURE = 8;
    private static final int HEADER_CHUNK = 4 + 4 + 13 + 4;   // IHDR: length, type, 13 bytes, CRC
    private static final byte[] ITXT = "iTXt".getBytes(StandardCharsets.US_ASCII);

    private PngText() {
    }

    /** The PNG with {@code keyword = text} added (keyword, then empty compression, language and translated keyword). */
    static byte[] with(byte[] png, String keyword, String text) {
        ByteArrayOutputStream data = new ByteArrayOutputStream();
        data.writeBytes(keyword.getBytes(StandardCharsets.ISO_8859_1));
        data.writeBytes(new byte[] {0, 0, 0, 0, 0});   // end of keyword, uncompressed, method 0, no language, no translation
        data.writeBytes(text.getBytes(StandardCharsets.UTF_8));
        byte[] body = data.toByteArray();
        CRC32 crc = new CRC32();
        crc.update(ITXT);
        crc.update(body);
        ByteBuffer chunk = ByteBuffer.allocate(4 + 4 + body.length + 4).putInt(body.length).put(ITXT).put(body).putInt((int) crc.getValue());
        int at = SIGNATURE + HEADER_CHUNK;
        ByteBuffer out = ByteBuffer.allocate(png.length + chunk.capacity());
        out.put(png, 0, at).put(chunk.array()).put(png, at, png.length - at);
        return out.array();
    }

    /** The text under this keyword in the file; empty when the file is missing, not a PNG or has no such entry. */
    static Optional<String> read(Path file, String keyword) throws IOException {
        if (!Files.isRegularFile(file)) {
            return Optional.empty();
        }
        byte[] key = keyword.getBytes(StandardCharsets.ISO_8859_1);
        try (InputStream in = Files.newInputStream(file)) {
            in.skipNBytes(SIGNATURE);
            while (true) {
                byte[] head = in.readNBytes(8);
                if (head.length < 8) {
                    return Optional.empty();
                }
                ByteBuffer h = ByteBuffer.wrap(head);
                int length = h.getInt();
                String type = new String(head, 4, 4, StandardCharsets.US_ASCII);
                if (length < 0 || type.equals("IDAT") || type.equals("IEND")) {
                    return Optional.empty();   // text entries written here come before the pixels
                }
                byte[] body = in.readNBytes(length);
                in.skipNBytes(4);
                if (type.equals("iTXt") && body.length >= key.length + 5
                        && java.util.Arrays.equals(body, 0, key.length, key, 0, key.length) && body[key.length] == 0) {
                    int from = key.length + 3;
                    for (int zeros = 0; zeros < 2 && from < body.length; from++) {   // past the language tag and the translated keyword
                        zeros += body[from] == 0 ? 1 : 0;
                    }
                    return Optional.of(new String(body, Math.min(from, body.length), Math.max(0, body.length - from), StandardCharsets.UTF_8));
                }
            }
        } catch (java.io.EOFException e) {
            return Optional.empty();
        }
    }
}
