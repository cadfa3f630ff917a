package cmbench;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/**
 * One keep-alive HTTP/1.1 connection served by one thread with blocking socket I/O: read until a
 * request head is complete, answer it, repeat until the client closes or asks to close.
 * Requests have no body. Every complete head in the buffer is answered in order, so a request
 * that arrives before the previous response was read is served too.
 */
final class HttpConnection {
    /** Largest request head accepted; a longer one closes the connection. */
    private static final int BUFFER_BYTES = 4096;

    private static final byte[] PLAINTEXT = ascii("/plaintext");
    private static final byte[] HTTP_1_0 = ascii("HTTP/1.0");
    private static final byte[] CONNECTION = ascii("connection:");
    private static final byte[] CLOSE = ascii("close");
    private static final byte[] KEEP_ALIVE = ascii("keep-alive");

    private HttpConnection() {}

    static void serve(Socket socket, Responses responses) {
        try (socket) {
            InputStream in = socket.getInputStream();
            OutputStream out = socket.getOutputStream();
            byte[] buf = new byte[BUFFER_BYTES];
            int start = 0;
            int end = 0;
            int scan = 0;
            while (true) {
                int headEnd = endOfHead(buf, scan, end);
                if (headEnd < 0) {
                    scan = Math.max(start, end - 3);
                    if (start > 0) {
                        System.arraycopy(buf, start, buf, 0, end - start);
                        end -= start;
                        scan -= start;
                        start = 0;
                    }
                    if (end == buf.length) {
                        return;
                    }
                    int n = in.read(buf, end, buf.length - end);
                    if (n < 0) {
                        return;
                    }
                    end += n;
                    continue;
                }
                if (!answer(buf, start, headEnd, out, responses)) {
                    return;
                }
                if (headEnd == end) {
                    start = 0;
                    end = 0;
                } else {
                    start = headEnd;
                }
                scan = start;
            }
        } catch (IOException e) {
            // The client reset the connection: nothing to report, the thread ends.
        }
    }

    /** Writes the response to the head in buf[start, headEnd); false when the connection ends. */
    private static boolean answer(byte[] buf, int start, int headEnd, OutputStream out,
                                  Responses responses) throws IOException {
        int lineEnd = indexOf(buf, start, headEnd, (byte) '\r');
        int pathStart = indexOf(buf, start, lineEnd, (byte) ' ') + 1;
        int pathEnd = indexOf(buf, pathStart, lineEnd, (byte) ' ');
        if (pathStart == 0 || pathEnd < 0) {
            return false;
        }
        boolean found = equals(buf, pathStart, pathEnd, PLAINTEXT);
        boolean keepAlive = !equals(buf, pathEnd + 1, lineEnd, HTTP_1_0);
        int line = lineEnd + 2;
        while (line < headEnd - 2) {
            int next = indexOf(buf, line, headEnd, (byte) '\r');
            if (startsWithIgnoreCase(buf, line, next, CONNECTION)) {
                int value = skipSpaces(buf, line + CONNECTION.length, next);
                int valueEnd = next;
                while (valueEnd > value && buf[valueEnd - 1] == ' ') {
                    valueEnd--;
                }
                if (equalsIgnoreCase(buf, value, valueEnd, CLOSE)) {
                    keepAlive = false;
                } else if (equalsIgnoreCase(buf, value, valueEnd, KEEP_ALIVE)) {
                    keepAlive = true;
                }
            }
            line = next + 2;
        }
        out.write(responses.get(found, !keepAlive));
        return keepAlive;
    }

    /** The index just past the first CRLF CRLF in buf[from, to), or -1. */
    private static int endOfHead(byte[] buf, int from, int to) {
        for (int i = from; i + 3 < to; i++) {
            if (buf[i] == '\r' && buf[i + 1] == '\n' && buf[i + 2] == '\r' && buf[i + 3] == '\n') {
                return i + 4;
            }
        }
        return -1;
    }

    private static int indexOf(byte[] buf, int from, int to, byte b) {
        for (int i = from; i < to; i++) {
            if (buf[i] == b) {
                return i;
            }
        }
        return -1;
    }

    private static int skipSpaces(byte[] buf, int from, int to) {
        while (from < to && (buf[from] == ' ' || buf[from] == '\t')) {
            from++;
        }
        return from;
    }

    private static boolean equals(byte[] buf, int from, int to, byte[] word) {
        if (to - from != word.length) {
            return false;
        }
        for (int i = 0; i < word.length; i++) {
            if (buf[from + i] != word[i]) {
                return false;
            }
        }
        return true;
    }

    private static boolean equalsIgnoreCase(byte[] buf, int from, int to, byte[] lowerWord) {
        return to - from == lowerWord.length && startsWithIgnoreCase(buf, from, to, lowerWord);
    }

    private static boolean startsWithIgnoreCase(byte[] buf, int from, int to, byte[] lowerWord) {
        if (to - from < lowerWord.length) {
            return false;
        }
        for (int i = 0; i < lowerWord.length; i++) {
            int b = buf[from + i];
            if (b >= 'A' && b <= 'Z') {
                b += 'a' - 'A';
            }
            if (b != lowerWord[i]) {
                return false;
            }
        }
        return true;
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }
}
