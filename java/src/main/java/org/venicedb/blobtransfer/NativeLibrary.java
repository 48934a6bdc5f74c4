package org.venicedb.blobtransfer;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Loads {@code libvenice_blob_transfer} once per class loader, from the first of:
 * <ol>
 * <li>the file named by the system property {@value #PATH_PROPERTY}. When it is set, nothing else
 *     is tried: an operator who names a library gets that one or an error, never a silent
 *     substitute;</li>
 * <li>{@code java.library.path}, by name ({@code System.loadLibrary("venice_blob_transfer")});</li>
 * <li>the copy inside the jar at {@code native/<os>-<arch>/<library file>} (see {@link #resourceName()}):
 *     extracted to a fresh directory only this user can enter (0700, created atomically) under
 *     {@value #EXTRACT_DIR_PROPERTY} (default {@code java.io.tmpdir}), checked against the SHA-256
 *     the jar carries beside it, loaded, and deleted at once (a loaded library stays mapped after
 *     its file is removed; where the OS refuses, it is deleted on exit).</li>
 * </ol>
 * If all fail, the {@link UnsatisfiedLinkError} names each place tried and why it failed. Then
 * checks that {@link BlobTransferException.Code} matches the library's own table, name for name
 * and number for number, so a mismatched library fails at load instead of mislabelling errors.
 *
 * <p>{@code java -jar venice-blob-transfer-<version>.jar} runs {@link #main} and reports which
 * library it loaded.
 */
final class NativeLibrary {
    /** System property naming the library file explicitly. */
    static final String PATH_PROPERTY = "vbt.library.path";
    /** System property: where the jar's copy is extracted (for hosts whose temp directory is noexec). */
    static final String EXTRACT_DIR_PROPERTY = "vbt.library.extract.dir";
    static final String NAME = "venice_blob_transfer";

    private static boolean loaded;
    private static String loadedFrom;

    private NativeLibrary() {}

    static synchronized void ensureLoaded() {
        if (loaded) {
            return;
        }
        String from = load();
        String[] expected = javaCodeNames();
        String[] actual = nativeCodeNames();
        if (!Arrays.equals(expected, actual)) {
            throw new UnsatisfiedLinkError("the native vbt library's result codes " + Arrays.toString(actual)
                    + " do not match BlobTransferException.Code " + Arrays.toString(expected) + " (loaded from "
                    + from + ")");
        }
        loadedFrom = from;
        loaded = true;
    }

    /** Where the library was loaded from (null before it is). */
    static synchronized String loadedFrom() {
        return loadedFrom;
    }

    private static String load() {
        String explicit = System.getProperty(PATH_PROPERTY);
        if (explicit != null && !explicit.isEmpty()) {
            String path = Paths.get(explicit).toAbsolutePath().toString();
            try {
                System.load(path);
            } catch (UnsatisfiedLinkError e) {
                throw linkError("could not load the native vbt library from -D" + PATH_PROPERTY + "=" + explicit
                        + " (when it is set, no other place is tried): " + e.getMessage(), e);
            }
            return path + " (-D" + PATH_PROPERTY + ")";
        }

        List<String> tried = new ArrayList<>();
        String libraryPath = System.getProperty("java.library.path", "");
        try {
            System.loadLibrary(NAME);
            return "java.library.path (" + libraryPath + ")";
        } catch (UnsatisfiedLinkError e) {
            tried.add("java.library.path=" + libraryPath + ": " + e.getMessage());
        }

        String resource = resourceName();
        try {
            return loadFromJar(resource);
        } catch (IOException | RuntimeException | UnsatisfiedLinkError e) {
            // Our own messages read on their own; a JDK exception (NoSuchFileException: /x) needs its name.
            String why = e instanceof UnsatisfiedLinkError || e.getClass() == IOException.class ? e.getMessage() : e.toString();
            tried.add("the jar's copy " + resource + ": " + why);
        }

        StringBuilder m = new StringBuilder("could not load the native vbt library ")
                .append(System.mapLibraryName(NAME)).append(" for ").append(platform())
                .append("; tried, in order: 1. -D").append(PATH_PROPERTY).append(" (not set)");
        for (int i = 0; i < tried.size(); i++) {
            m.append("; ").append(i + 2).append(". ").append(tried.get(i));
        }
        m.append(". Use the venice-blob-transfer jar built for this platform, or set -D").append(PATH_PROPERTY)
                .append("=/path/to/").append(System.mapLibraryName(NAME));
        throw new UnsatisfiedLinkError(m.toString());
    }

    /** Extracts, checks and loads the jar's copy; always removes the extracted file. */
    private static String loadFromJar(String resource) throws IOException {
        URL url = NativeLibrary.class.getResource("/" + resource);
        if (url == null) {
            throw new IOException("not on the class path (a jar built for another platform, or the bare classes)");
        }
        String expected = expectedSha256(resource + ".sha256");
        Path dir = privateDirectory();
        Path file = dir.resolve(System.mapLibraryName(NAME));
        boolean loadedHere = false;
        try {
            String copied;
            try (InputStream in = url.openStream();
                    OutputStream out = Files.newOutputStream(file, StandardOpenOption.CREATE_NEW,
                            StandardOpenOption.WRITE)) {
                copied = copy(in, out);
            }
            if (!copied.equals(expected)) {
                throw new IOException("its SHA-256 is " + copied + ", its .sha256 says " + expected
                        + " (the jar is damaged or was repacked)");
            }
            // Read back what is on disk: a short write or a swapped file must not reach dlopen.
            String onDisk = sha256(file);
            if (!onDisk.equals(expected)) {
                throw new IOException("the extracted copy " + file + " has SHA-256 " + onDisk + ", expected " + expected);
            }
            try {
                System.load(file.toString());
            } catch (UnsatisfiedLinkError e) {
                throw linkError(e.getMessage() + " (if " + dir.getParent() + " is mounted noexec, point -D"
                        + EXTRACT_DIR_PROPERTY + " at a directory that allows executables)", e);
            }
            loadedHere = true;
            return url + " extracted to " + file;
        } finally {
            remove(file, dir, loadedHere);
        }
    }

    /** A new directory only this user can enter, created with those permissions in one step. */
    private static Path privateDirectory() throws IOException {
        String base = System.getProperty(EXTRACT_DIR_PROPERTY);
        Path parent = Paths.get(base != null && !base.isEmpty() ? base : System.getProperty("java.io.tmpdir"));
        if (parent.getFileSystem().supportedFileAttributeViews().contains("posix")) {
            return Files.createTempDirectory(parent, "vbt-native-",
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        }
        return Files.createTempDirectory(parent, "vbt-native-"); // per-user temp directory on Windows
    }

    private static void remove(Path file, Path dir, boolean loadedHere) {
        try {
            Files.deleteIfExists(file);
            Files.deleteIfExists(dir);
        } catch (IOException | RuntimeException e) {
            if (loadedHere) {
                // Windows keeps a loaded DLL's file locked. Registered dir first: deleted last.
                dir.toFile().deleteOnExit();
                file.toFile().deleteOnExit();
            }
        }
    }

    /** The first word of the {@code .sha256} resource build-jar writes ({@code sha256sum}'s format). */
    private static String expectedSha256(String resource) throws IOException {
        try (InputStream in = NativeLibrary.class.getResourceAsStream("/" + resource)) {
            if (in == null) {
                throw new IOException("its checksum " + resource + " is missing from the jar");
            }
            String text = new String(readAll(in), StandardCharsets.US_ASCII).trim();
            String hex = text.split("\\s+", 2)[0].toLowerCase(Locale.ROOT);
            if (!hex.matches("[0-9a-f]{64}")) {
                throw new IOException(resource + " does not start with a SHA-256: " + text);
            }
            return hex;
        }
    }

    private static String copy(InputStream in, OutputStream out) throws IOException {
        MessageDigest md = sha256();
        byte[] buf = new byte[1 << 16];
        int n;
        while ((n = in.read(buf)) > 0) {
            md.update(buf, 0, n);
            out.write(buf, 0, n);
        }
        return hex(md.digest());
    }

    private static String sha256(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            MessageDigest md = sha256();
            byte[] buf = new byte[1 << 16];
            int n;
            while ((n = in.read(buf)) > 0) {
                md.update(buf, 0, n);
            }
            return hex(md.digest());
        }
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256"); // every JRE has it
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static byte[] readAll(InputStream in) throws IOException {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        byte[] buf = new byte[256];
        int n;
        while ((n = in.read(buf)) > 0) {
            out.write(buf, 0, n);
        }
        return out.toByteArray();
    }

    private static String hex(byte[] bytes) {
        StringBuilder s = new StringBuilder(bytes.length * 2);
        for (byte b : bytes) {
            s.append(Character.forDigit((b >> 4) & 0xf, 16)).append(Character.forDigit(b & 0xf, 16));
        }
        return s.toString();
    }

    private static UnsatisfiedLinkError linkError(String message, Throwable cause) {
        UnsatisfiedLinkError e = new UnsatisfiedLinkError(message);
        e.initCause(cause);
        return e;
    }

    /**
     * Where the jar carries this platform's library: {@code native/<os>-<arch>/<System.mapLibraryName>},
     * e.g. {@code native/linux-x86_64/libvenice_blob_transfer.so}. scripts/build-jar asks this
     * method (through {@link #main}) where to put the library, so the two cannot disagree.
     */
    static String resourceName() {
        return "native/" + platform() + "/" + System.mapLibraryName(NAME);
    }

    /** {@code <os>-<arch>}, from os.name and os.arch, in the names Rust and RocksJava use. */
    static String platform() {
        return os(System.getProperty("os.name", "")) + "-" + arch(System.getProperty("os.arch", ""));
    }

    static String os(String osName) {
        String n = osName.toLowerCase(Locale.ROOT);
        if (n.startsWith("linux")) {
            return "linux";
        }
        if (n.startsWith("mac") || n.startsWith("darwin")) {
            return "osx";
        }
        if (n.startsWith("windows")) {
            return "windows";
        }
        return n.replaceAll("[^a-z0-9]+", "");
    }

    static String arch(String osArch) {
        String a = osArch.toLowerCase(Locale.ROOT);
        switch (a) {
            case "amd64":
            case "x86_64":
            case "x86-64":
                return "x86_64";
            case "aarch64":
            case "arm64":
                return "aarch64";
            case "x86":
            case "i386":
            case "i486":
            case "i586":
            case "i686":
                return "x86";
            default:
                return a.replaceAll("[^a-z0-9_]+", "");
        }
    }

    /**
     * {@code --resource}: prints {@link #resourceName()} without loading anything (scripts/build-jar).
     * No argument: loads the library as a host would and prints its version and where it came from.
     */
    public static void main(String[] args) {
        if (args.length == 1 && args[0].equals("--resource")) {
            System.out.println(resourceName());
            return;
        }
        if (args.length != 0) {
            System.err.println("usage: java -jar venice-blob-transfer.jar [--resource]");
            System.exit(2);
        }
        ensureLoaded();
        System.out.println("venice-blob-transfer " + nativeVersion() + " for " + platform());
        System.out.println("loaded from " + loadedFrom());
    }

    /** Element n is the name of the Java code with number n. */
    static String[] javaCodeNames() {
        BlobTransferException.Code[] codes = BlobTransferException.Code.values();
        int max = 0;
        for (BlobTransferException.Code c : codes) {
            max = Math.max(max, c.number());
        }
        String[] names = new String[max + 1];
        for (BlobTransferException.Code c : codes) {
            names[c.number()] = c.name();
        }
        return names;
    }

    /** Element n is the constant name of native code n ("OK" at 0). */
    static native String[] nativeCodeNames();

    /** The version of the loaded native library. */
    static native String nativeVersion();

    /** Panics inside the native library (for the test of the panic guard). */
    static native void nativePanicForTest();

    /** Nodes opened through JNI and not yet freed (built with the failpoints feature only; for the cleaner's test). */
    static native int nativeLiveNodesForTest();
}
