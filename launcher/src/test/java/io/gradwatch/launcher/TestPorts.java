package io.gradwatch.launcher;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;

/** Free ports on 127.0.0.1 for stacks started by tests. */
final class TestPorts {
    private TestPorts() {
    }

    /** The first of four consecutive free ports at or above {@code from}: a stack's port base. */
    static int freePortBase(int from) throws IOException {
        for (int base = from; base < 60000; base += 7) {
            boolean free = true;
            for (int port = base; port < base + 4 && free; port++) {
                try (ServerSocket socket = new ServerSocket(port, 1, InetAddress.getByName("127.0.0.1"))) {
                    socket.setReuseAddress(true);
                } catch (IOException taken) {
                    free = false;
                }
            }
            if (free) {
                return base;
            }
        }
        throw new IOException("no four consecutive free ports above " + from);
    }

    static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            return socket.getLocalPort();
        }
    }
}
