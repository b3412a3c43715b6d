package io.gradwatch.launcher.replay;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * The lines of an NDJSON stream, each decoded as strict UTF-8 on its own, so one line of bad bytes
 * is one bad line (reported with its number), not the end of the file. A line longer than
 * {@link #MAX_LINE_BYTES} is skipped as bad without being held in memory; a UTF-8 byte-order mark
 * at the start and a CR before the LF are dropped.
 */
final class NdjsonLines {
    /** 64 MiB: far above a real tensor line (and above what one Kafka record may carry). */
    static final int MAX_LINE_BYTES = 64 << 20;

    /** What happens to each line: its 1-based number and either its text or what is wrong with it. */
    interface Visitor {
        void line(long number, String text, String error) throws IOException;
    }

    private NdjsonLines() {
    }

    /** Visits every line; returns how many lines were read. */
    static long read(InputStream in, int maxLineBytes, Visitor visitor) throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        byte[] buffer = new byte[1 << 16];
        long number = 0;
        boolean tooLong = false;
        boolean any = false;
        for (int n; (n = in.read(buffer)) > 0; ) {
            int start = 0;
            for (int i = 0; i < n; i++) {
                if (buffer[i] != '\n') {
                    continue;
                }
                number++;
                if (!tooLong) {
                    line.write(buffer, start, i - start);
                }
                emit(number, line, tooLong, maxLineBytes, visitor);
                line.reset();
                tooLong = false;
                start = i + 1;
            }
            any = true;
            if (!tooLong) {
                line.write(buffer, start, n - start);
                if (line.size() > maxLineBytes) {
                    tooLong = true;
                    line.reset();
                }
            }
        }
        if (line.size() > 0 || tooLong) {
            number++;
            emit(number, line, tooLong, maxLineBytes, visitor);
        }
        return any ? number : 0;
    }

    private static void emit(long number, ByteArrayOutputStream line, boolean tooLong, int maxLineBytes,
                             Visitor visitor) throws IOException {
        if (tooLong || line.size() > maxLineBytes) {
            visitor.line(number, null, "line longer than " + maxLineBytes + " bytes, skipped");
            return;
        }
        byte[] bytes = line.toByteArray();
        int length = bytes.length;
        if (length > 0 && bytes[length - 1] == '\r') {
            length--;
        }
        int offset = number == 1 && length >= 3 && (bytes[0] & 0xff) == 0xef && (bytes[1] & 0xff) == 0xbb
                && (bytes[2] & 0xff) == 0xbf ? 3 : 0;
        try {
            String text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes, offset, length - offset)).toString();
            visitor.line(number, text, null);
        } catch (CharacterCodingException e) {
            visitor.line(number, null, "not valid UTF-8");
        }
    }
}
