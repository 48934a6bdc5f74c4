package org.venicedb.blobtransfer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.jar.JarOutputStream;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Where the native library comes from, each case in a fresh JVM under -Xcheck:jni: the file
 * -Dvbt.library.path names (and nothing else when it is set), java.library.path, the jar's copy.
 * scripts/test-java names the jar, the bare library and the bare classes (vbt.test.*).
 */
class LoadingTest {
    /** Runs in the child JVM. */
    public static final class Main {
        public static void main(String[] args) throws Exception {
            System.out.println("version " + BlobTransferNode.libraryVersion());
            System.out.println("loaded from " + BlobTransferNode.librarySource());
            try (BlobTransferNode node = BlobTransferNode.open(Collections.<String, String>emptyMap())) {
                System.out.println("opened " + node);
            }
            System.out.println("extracted copies left " + extractedCopies(Paths.get(System.getProperty("java.io.tmpdir"))));
        }
    }

    /** vbt-native-* directories under dir (what extracting leaves behind, if anything). */
    static List<String> extractedCopies(Path dir) throws Exception {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("vbt-native-"))
                    .collect(Collectors.toList());
        }
    }

    private static Path property(String name) {
        String v = System.getProperty(name);
        assertNotNull(v, name + " is not set (scripts/test-java sets it)");
        return Paths.get(v);
    }

    private static Path library() {
        return property("vbt.test.library");
    }

    private static Path jar() {
        return property("vbt.test.jar");
    }

    /** The compiled classes without the native library. */
    private static Path bareClasses() {
        return property("vbt.test.classes");
    }

    private static Path testClasses() throws Exception {
        return Paths.get(LoadingTest.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    }

    private static String child(List<Path> classPath, Path tmp, String... props) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(Paths.get(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-Xcheck:jni");
        cmd.add("-Djava.io.tmpdir=" + tmp);
        cmd.addAll(Arrays.asList(props));
        cmd.add("-cp");
        cmd.add(classPath.stream().map(Path::toString).collect(Collectors.joining(File.pathSeparator)));
        cmd.add(Main.class.getName());
        return run(cmd);
    }

    private static String run(List<String> cmd) throws Exception {
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
        String text = p.exitValue() + "\n" + new String(out.toByteArray(), StandardCharsets.UTF_8);
        assertTrue(!text.contains("WARNING"), text);
        assertEquals(-1, text.indexOf("SIGSEGV"), text);
        return text;
    }

    private static void assertLoaded(String out) {
        assertTrue(out.startsWith("0\n"), out);
        assertTrue(out.contains("version " + BlobTransferNode.libraryVersion()), out);
        assertTrue(out.contains("opened BlobTransferNode[open]"), out);
    }

    @Test
    void theseTestsRunOnTheJarsOwnCopy() throws Exception {
        String source = BlobTransferNode.librarySource();
        assertTrue(source.startsWith("jar:file:"), source);
        assertTrue(source.contains(jar() + "!/" + NativeLibrary.resourceName() + " extracted to "), source);
        assertEquals(Collections.emptyList(), extractedCopies(Paths.get(System.getProperty("java.io.tmpdir"))),
                "the extracted copy is deleted once loaded");
    }

    @Test
    void platformDirectoryNames() {
        assertEquals("linux", NativeLibrary.os("Linux"));
        assertEquals("osx", NativeLibrary.os("Mac OS X"));
        assertEquals("windows", NativeLibrary.os("Windows Server 2022"));
        assertEquals("x86_64", NativeLibrary.arch("amd64"));
        assertEquals("x86_64", NativeLibrary.arch("x86_64"));
        assertEquals("aarch64", NativeLibrary.arch("aarch64"));
        assertEquals("ppc64le", NativeLibrary.arch("ppc64le"));
        assertEquals("native/linux-x86_64/libvenice_blob_transfer.so", NativeLibrary.resourceName());
    }

    @Test
    void jarCopyWhenNoPathIsSet(@TempDir Path tmp) throws Exception {
        String out = child(Arrays.asList(jar(), testClasses()), tmp);
        assertLoaded(out);
        assertTrue(out.contains("loaded from jar:file:"), out);
        assertTrue(out.contains(jar() + "!/native/linux-x86_64/libvenice_blob_transfer.so extracted to "
                + tmp.resolve("vbt-native-")), out);
        assertTrue(out.contains("extracted copies left []"), out); // deleted right after loading
        assertEquals(Collections.emptyList(), extractedCopies(tmp));
    }

    @Test
    void extractDirectoryProperty(@TempDir Path tmp, @TempDir Path extractTo) throws Exception {
        String out = child(Arrays.asList(jar(), testClasses()), tmp,
                "-D" + NativeLibrary.EXTRACT_DIR_PROPERTY + "=" + extractTo);
        assertLoaded(out);
        assertTrue(out.contains(" extracted to " + extractTo.resolve("vbt-native-")), out);
        assertEquals(Collections.emptyList(), extractedCopies(extractTo));
    }

    @Test
    void explicitPathWinsOverLibraryPathAndJar(@TempDir Path tmp, @TempDir Path dir) throws Exception {
        Path copy = Files.copy(library(), dir.resolve(library().getFileName()));
        String out = child(Arrays.asList(jar(), testClasses()), tmp,
                "-Djava.library.path=" + library().getParent(), "-D" + NativeLibrary.PATH_PROPERTY + "=" + copy);
        assertLoaded(out);
        assertTrue(out.contains("loaded from " + copy + " (-D" + NativeLibrary.PATH_PROPERTY + ")"), out);
        assertEquals(Collections.emptyList(), extractedCopies(tmp));
    }

    @Test
    void libraryPathBeforeTheJar(@TempDir Path tmp) throws Exception {
        String out = child(Arrays.asList(jar(), testClasses()), tmp, "-Djava.library.path=" + library().getParent());
        assertLoaded(out);
        assertTrue(out.contains("loaded from java.library.path (" + library().getParent() + ")"), out);
        assertEquals(Collections.emptyList(), extractedCopies(tmp));
    }

    @Test
    void anExplicitPathIsNeverSilentlyReplaced(@TempDir Path tmp) throws Exception {
        Path missing = tmp.resolve("missing").resolve(library().getFileName());
        String out = child(Arrays.asList(jar(), testClasses()), tmp, "-D" + NativeLibrary.PATH_PROPERTY + "=" + missing);
        assertNotEquals("0", out.substring(0, out.indexOf('\n')), out);
        assertTrue(out.contains("UnsatisfiedLinkError: could not load the native vbt library from -D"
                + NativeLibrary.PATH_PROPERTY + "=" + missing + " (when it is set, no other place is tried)"), out);
    }

    @Test
    void nothingFoundNamesEveryPlaceTried(@TempDir Path tmp) throws Exception {
        String out = child(Arrays.asList(bareClasses(), testClasses()), tmp, "-Djava.library.path=/nonexistent");
        assertNotEquals("0", out.substring(0, out.indexOf('\n')), out);
        assertTrue(out.contains("UnsatisfiedLinkError: could not load the native vbt library libvenice_blob_transfer.so"
                + " for linux-x86_64; tried, in order: 1. -Dvbt.library.path (not set); 2. java.library.path=/nonexistent: "),
                out);
        assertTrue(out.contains("; 3. the jar's copy native/linux-x86_64/libvenice_blob_transfer.so: not on the class path"),
                out);
        assertTrue(out.contains("or set -Dvbt.library.path=/path/to/libvenice_blob_transfer.so"), out);
    }

    @Test
    void aDamagedCopyInTheJarIsRefusedAndRemoved(@TempDir Path tmp, @TempDir Path jars) throws Exception {
        // A jar whose library does not match the .sha256 beside it (the real one).
        String resource = NativeLibrary.resourceName();
        byte[] sha;
        try (JarFile real = new JarFile(jar().toFile())) {
            try (InputStream in = real.getInputStream(real.getJarEntry(resource + ".sha256"))) {
                sha = readAll(in);
            }
        }
        long flip = Files.size(library()) / 2;
        Path damaged = jars.resolve("damaged.jar");
        try (InputStream lib = Files.newInputStream(library()); OutputStream f = Files.newOutputStream(damaged);
                JarOutputStream out = new JarOutputStream(f)) {
            out.putNextEntry(new JarEntry(resource));
            // Through a small buffer: under -Xcheck:jni every native deflate call copies the whole
            // array the Deflater was given, so one big array makes this quadratic.
            byte[] buf = new byte[1 << 16];
            long at = 0;
            int n;
            while ((n = lib.read(buf)) > 0) {
                if (flip >= at && flip < at + n) {
                    buf[(int) (flip - at)] ^= 1;
                }
                out.write(buf, 0, n);
                at += n;
            }
            out.putNextEntry(new JarEntry(resource + ".sha256"));
            out.write(sha);
        }
        String out = child(Arrays.asList(bareClasses(), damaged, testClasses()), tmp, "-Djava.library.path=/nonexistent");
        assertNotEquals("0", out.substring(0, out.indexOf('\n')), out);
        assertTrue(out.contains("3. the jar's copy " + resource + ": its SHA-256 is "), out);
        assertTrue(out.contains(", its .sha256 says " + new String(sha, StandardCharsets.US_ASCII).split("\\s+")[0]
                + " (the jar is damaged or was repacked)"), out);
        assertEquals(Collections.emptyList(), extractedCopies(tmp), "a refused copy is removed too");
    }

    @Test
    void javaDashJarSaysWhereTheLibraryCameFrom(@TempDir Path tmp) throws Exception {
        String out = run(Arrays.asList(Paths.get(System.getProperty("java.home"), "bin", "java").toString(),
                "-Djava.io.tmpdir=" + tmp, "-jar", jar().toString()));
        assertTrue(out.startsWith("0\nvenice-blob-transfer " + BlobTransferNode.libraryVersion()
                + " for linux-x86_64\nloaded from jar:"), out);
    }

    private static byte[] readAll(InputStream in) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] b = new byte[4096];
        int n;
        while ((n = in.read(b)) > 0) {
            out.write(b, 0, n);
        }
        return out.toByteArray();
    }
}
