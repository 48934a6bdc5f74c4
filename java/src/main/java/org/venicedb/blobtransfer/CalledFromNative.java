package org.venicedb.blobtransfer;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Marks a method or constructor the native library calls through JNI (by name and descriptor,
 * see src/jni/callbacks.rs and src/jni/exceptions.rs): renaming it, changing its parameters or
 * letting a shrinker remove it breaks the library at run time, not at compile time. Kept in the
 * class files ({@link RetentionPolicy#CLASS}) so shrinking and shading rules can keep it
 * ({@code -keep @org.venicedb.blobtransfer.CalledFromNative class * { *; }}). A Rust test
 * (src/jni/mod.rs) checks that every name the native code calls carries it.
 */
@Documented
@Retention(RetentionPolicy.CLASS)
@Target({ElementType.METHOD, ElementType.CONSTRUCTOR})
@interface CalledFromNative {}
