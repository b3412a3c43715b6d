package io.gradwatch.launcher;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.LinkedHashMap;
import java.util.Map;

/** Refuses to start a stack on a taken port, saying which one and how to move. */
final class PortCheck {
    private PortCheck() {
    }

    static void requireFree(StackLayout layout) {
        Map<String, Integer> ports = new LinkedHashMap<>();
        ports.put("Kafka", layout.kafkaPort());
        ports.put("Kafka controller", layout.controllerPort());
        ports.put("monitor-service", layout.monitorPort());
        ports.put("alert-service", layout.alertsPort());
        for (var entry : ports.entrySet()) {
            if (!isFree(entry.getValue())) {
                throw new IllegalStateException("port " + entry.getValue() + " (" + entry.getKey()
                        + ") on 127.0.0.1 is taken, perhaps by another stack (./gradwatch down stops it). "
                        + "Choose other ports with --port-base N (this stack uses N.." + (layout.portBase() + 3) + ").");
            }
        }
    }

    private static boolean isFree(int port) {
        try (ServerSocket socket = new ServerSocket(port, 1, InetAddress.getByName("127.0.0.1"))) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }
}
