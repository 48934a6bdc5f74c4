package org.venicedb.blobtransfer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The native library is found through vbt.library.path or java.library.path (in a fresh JVM). */
class LoadingTest {
    /** Runs in the child JVM. */
    public static final class Main {
        public static void main(String[] args) {
            System.out.println("version " + BlobTransferNode.libraryVersion());
            try (BlobTransferNode node = BlobTransferNode.open(Collections.<String, String>emptyMap())) {
                System.out.println("opened " + node);
            }
        }
    }

    private static Path library() {
        String name = System.mapLibraryName(NativeLibrary.NAME);
        for (String dir : System.getProperty("java.library.path").split(File.pathSeparator)) {
            Path p = Paths.get(dir, name);
            if (Files.isRegularFile(p)) {
                return p;
            }
        }
        throw new AssertionError(name + " is not on java.library.path");
    }

    private static String child(String... props) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(Paths.get(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-Xcheck:jni");
        cmd.addAll(Arrays.asList(props));
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(Main.class.getName());
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (InputStream in = p.getInputStream()) {
            byte[] b = new byte[4096];
            int n;
            while ((n = in.read(b)) > 0) {
                out.write(b, 0, n);
            }
        }
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        return p.exitValue() + "\n" + new String(out.toByteArray(), StandardCharsets.UTF_8);
    }

    @Test
    void explicitPathWins() throws Exception {
        String out = child("-Djava.library.path=/nonexistent", "-D" + NativeLibrary.PATH_PROPERTY + "=" + library());
        assertTrue(out.startsWith("0\n"), out);
        assertTrue(out.contains("version " + BlobTransferNode.libraryVersion()), out);
        assertTrue(out.contains("opened BlobTransferNode[open]"), out);
        assertTrue(!out.contains("WARNING"), out);
    }

    @Test
    void libraryPathByName() throws Exception {
        String out = child("-Djava.library.path=" + library().getParent());
        assertTrue(out.startsWith("0\n"), out);
        assertTrue(!out.contains("WARNING"), out);
    }

    @Test
    void missingLibraryIsALinkError() throws Exception {
        String out = child("-Djava.library.path=/nonexistent");
        assertNotEquals("0", out.substring(0, out.indexOf('\n')), out);
        assertTrue(out.contains("UnsatisfiedLinkError"), out);
        assertEquals(-1, out.indexOf("SIGSEGV"), out);
    }
}
