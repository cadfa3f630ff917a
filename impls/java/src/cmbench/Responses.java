package cmbench;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Locale;

/**
 * The server's complete responses as bytes, rebuilt when the clock enters a new second so that
 * the Date header is never more than one second old.
 */
final class Responses {
    static final String SERVER = "cmbench-java";

    private static final DateTimeFormatter IMF_FIXDATE = DateTimeFormatter
            .ofPattern("EEE, dd MMM yyyy HH:mm:ss 'GMT'", Locale.US)
            .withZone(ZoneOffset.UTC);

    /** The four responses (found or not, keep-alive or close) for one second of the clock. */
    private record Snapshot(long second, byte[] ok, byte[] okClose, byte[] notFound,
                            byte[] notFoundClose) {
        static Snapshot at(long second) {
            String date = IMF_FIXDATE.format(Instant.ofEpochSecond(second));
            return new Snapshot(second,
                    render("200 OK", "Hello, World!", date, false),
                    render("200 OK", "Hello, World!", date, true),
                    render("404 Not Found", "Not Found", date, false),
                    render("404 Not Found", "Not Found", date, true));
        }
    }

    private volatile Snapshot current = Snapshot.at(nowSecond());

    /** The response to GET /plaintext ({@code found}) or to any other path. */
    byte[] get(boolean found, boolean close) {
        long second = nowSecond();
        Snapshot snapshot = current;
        if (snapshot.second != second) {
            snapshot = Snapshot.at(second);
            current = snapshot;
        }
        if (found) {
            return close ? snapshot.okClose : snapshot.ok;
        }
        return close ? snapshot.notFoundClose : snapshot.notFound;
    }

    private static long nowSecond() {
        return System.currentTimeMillis() / 1000;
    }

    private static byte[] render(String status, String body, String date, boolean close) {
        String response = "HTTP/1.1 " + status + "\r\n"
                + "Content-Type: text/plain\r\n"
                + "Content-Length: " + body.length() + "\r\n"
                + "Server: " + SERVER + "\r\n"
                + "Date: " + date + "\r\n"
                + (close ? "Connection: close\r\n" : "")
                + "\r\n"
                + body;
        return response.getBytes(StandardCharsets.US_ASCII);
    }
}
