package org.venicedb.blobtransfer;

import java.nio.file.Paths;
import java.util.Arrays;

/**
 * Loads {@code libvenice_blob_transfer} once per class loader: from the path in the system
 * property {@value #PATH_PROPERTY} if set ({@code System.load}), else by name from
 * {@code java.library.path} ({@code System.loadLibrary("venice_blob_transfer")}). Then checks that
 * {@link BlobTransferException.Code} matches the library's own table, name for name and number for
 * number, so a mismatched library fails at load instead of mislabelling errors.
 */
final class NativeLibrary {
    /** System property naming the library file explicitly. */
    static final String PATH_PROPERTY = "vbt.library.path";
    static final String NAME = "venice_blob_transfer";

    private static boolean loaded;

    private NativeLibrary() {}

    static synchronized void ensureLoaded() {
        if (loaded) {
            return;
        }
        String path = System.getProperty(PATH_PROPERTY);
        if (path != null && !path.isEmpty()) {
            System.load(Paths.get(path).toAbsolutePath().toString());
        } else {
            System.loadLibrary(NAME);
        }
        String[] expected = javaCodeNames();
        String[] actual = nativeCodeNames();
        if (!Arrays.equals(expected, actual)) {
            throw new UnsatisfiedLinkError("the native vbt library's result codes " + Arrays.toString(actual)
                    + " do not match BlobTransferException.Code " + Arrays.toString(expected));
        }
        loaded = true;
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
}
