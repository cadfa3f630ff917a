package cmbench;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;

/**
 * http_server: a blocking ServerSocket with one thread per connection, the threads coming from
 * the model's factory (platform or virtual), so the two models serve HTTP with the same code.
 */
final class PlaintextServer {
    private static final int BACKLOG = 1024;

    private PlaintextServer() {}

    /** Listens on 127.0.0.1:port, prints the ready line and serves until SIGTERM. */
    static void run(int port, Threads threads) throws IOException, InterruptedException {
        ServerSocket listener = new ServerSocket();
        listener.setReuseAddress(true);
        listener.bind(new InetSocketAddress("127.0.0.1", port), BACKLOG);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> Runtime.getRuntime().halt(0)));
        Responses responses = new Responses();
        System.out.println("{\"ready\": true, \"port\": " + listener.getLocalPort() + "}");
        System.out.flush();
        threads.start(() -> accept(listener, threads, responses)).join();
    }

    private static void accept(ServerSocket listener, Threads threads, Responses responses) {
        while (true) {
            Socket socket;
            try {
                socket = listener.accept();
            } catch (IOException e) {
                System.err.println("cmbench-java: accept failed: " + e);
                continue;
            }
            try {
                socket.setTcpNoDelay(true);
            } catch (IOException e) {
                closeQuietly(socket);
                continue;
            }
            threads.start(() -> HttpConnection.serve(socket, responses));
        }
    }

    private static void closeQuietly(Socket socket) {
        try {
            socket.close();
        } catch (IOException e) {
            // Already gone.
        }
    }
}
