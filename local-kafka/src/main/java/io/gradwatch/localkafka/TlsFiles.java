package io.gradwatch.localkafka;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * TLS material for a local broker: a throw-away CA, a broker certificate it signed (SAN
 * IP:127.0.0.1 and DNS:localhost, so clients verify the host name), the broker's PKCS12 keystore
 * and a PKCS12 truststore holding only the CA. Made by the JDK's own {@code keytool}, run as a
 * child process, so nothing beyond the JDK is needed.
 *
 * @param keystore the broker's key and certificate chain
 * @param truststore the CA certificate, for clients (and the broker)
 * @param caCertificate the CA certificate in PEM
 * @param password the password of both stores and of the key
 */
public record TlsFiles(Path keystore, Path truststore, Path caCertificate, String password) {
    public static final String STORE_TYPE = "PKCS12";

    /** Generates everything into {@code dir} (created if needed), valid for {@code days} days. */
    public static TlsFiles generate(Path dir, String password, int days) {
        if (password.length() < 6) {
            throw new IllegalArgumentException("keytool needs a store password of at least 6 characters");
        }
        try {
            Files.createDirectories(dir);
            Path ca = dir.resolve("ca.p12");
            Path caPem = dir.resolve("ca.pem");
            Path keystore = dir.resolve("broker.p12");
            Path csr = dir.resolve("broker.csr");
            Path brokerPem = dir.resolve("broker.pem");
            Path truststore = dir.resolve("truststore.p12");
            String validity = Integer.toString(days);
            keytool(dir, "-genkeypair", "-alias", "ca", "-keyalg", "RSA", "-keysize", "2048", "-validity", validity,
                    "-dname", "CN=gradwatch local test CA", "-ext", "bc:c", "-keystore", ca.toString(),
                    "-storetype", STORE_TYPE, "-storepass", password, "-keypass", password);
            keytool(dir, "-exportcert", "-rfc", "-alias", "ca", "-keystore", ca.toString(), "-storepass", password,
                    "-file", caPem.toString());
            keytool(dir, "-genkeypair", "-alias", "broker", "-keyalg", "RSA", "-keysize", "2048", "-validity",
                    validity, "-dname", "CN=localhost", "-keystore", keystore.toString(), "-storetype", STORE_TYPE,
                    "-storepass", password, "-keypass", password);
            keytool(dir, "-certreq", "-alias", "broker", "-keystore", keystore.toString(), "-storepass", password,
                    "-file", csr.toString());
            keytool(dir, "-gencert", "-rfc", "-alias", "ca", "-keystore", ca.toString(), "-storepass", password,
                    "-infile", csr.toString(), "-outfile", brokerPem.toString(), "-validity", validity,
                    "-ext", "SAN=IP:127.0.0.1,DNS:localhost", "-ext", "KU=digitalSignature,keyEncipherment",
                    "-ext", "EKU=serverAuth,clientAuth");
            keytool(dir, "-importcert", "-noprompt", "-alias", "ca", "-file", caPem.toString(), "-keystore",
                    keystore.toString(), "-storepass", password);
            keytool(dir, "-importcert", "-alias", "broker", "-file", brokerPem.toString(), "-keystore",
                    keystore.toString(), "-storepass", password, "-keypass", password);
            keytool(dir, "-importcert", "-noprompt", "-alias", "ca", "-file", caPem.toString(), "-keystore",
                    truststore.toString(), "-storetype", STORE_TYPE, "-storepass", password);
            Files.deleteIfExists(csr);
            return new TlsFiles(keystore, truststore, caPem, password);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot generate TLS files in " + dir, e);
        }
    }

    private static void keytool(Path dir, String... arguments) throws IOException {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "keytool").toString());
        command.addAll(List.of(arguments));
        Process process = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        try {
            if (!process.waitFor(60, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new IllegalStateException("keytool " + arguments[0] + " timed out");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
            throw new IllegalStateException("interrupted while running keytool", e);
        }
        if (process.exitValue() != 0) {
            throw new IllegalStateException("keytool " + arguments[0] + " failed (exit " + process.exitValue() + "): "
                    + output.strip());
        }
    }

    @Override
    public String toString() {
        return "TlsFiles[keystore=" + keystore + ", truststore=" + truststore + ", password=******]";
    }
}
