package org.venicedb.blobtransfer;

import java.lang.ref.PhantomReference;
import java.lang.ref.Reference;
import java.lang.ref.ReferenceQueue;
import java.util.Collections;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * {@code java.lang.ref.Cleaner}'s contract, built the way Cleaner is built (a phantom reference
 * per object, one daemon thread draining their queue), because the classes are Java 8 bytecode
 * and Cleaner is Java 9+. The API mirrors Cleaner's ({@link #register} returns a
 * {@link Cleanable}), so moving to Cleaner when Java 8 is dropped changes two lines.
 *
 * <p>{@link Cleanable#clean()} runs its action at most once, whether it is called by the owner
 * (an explicit close) or by the cleaner thread after the owner became unreachable, or both at
 * once. The action must not reference the owner, or the owner never becomes unreachable.
 *
 * <p>The thread ({@code vbt-cleaner}) starts with the first registration and exits once nothing
 * has been registered for {@link #IDLE_MILLIS}, so a host that closes its nodes keeps no thread
 * (nor, through it, this class loader) alive.
 */
final class NativeCleaner {
    /** Runs a registered action at most once. */
    interface Cleanable {
        void clean();
    }

    static final long IDLE_MILLIS = 60_000;

    private static final ReferenceQueue<Object> QUEUE = new ReferenceQueue<>();
    // A phantom reference is only enqueued while it is itself strongly reachable: this set keeps
    // each one until its action has run.
    private static final Set<Ref> REGISTERED = Collections.newSetFromMap(new ConcurrentHashMap<Ref, Boolean>());
    private static Thread thread; // guarded by NativeCleaner.class

    private NativeCleaner() {}

    /** Runs {@code action} once {@code owner} is unreachable, unless {@link Cleanable#clean()} ran it first. */
    static Cleanable register(Object owner, Runnable action) {
        Ref ref = new Ref(owner, action);
        synchronized (NativeCleaner.class) {
            REGISTERED.add(ref);
            if (thread == null) {
                Thread t = new Thread(NativeCleaner::drain, "vbt-cleaner");
                t.setDaemon(true);
                t.setContextClassLoader(null); // pin no host class loader
                t.start();
                thread = t;
            }
        }
        return ref;
    }

    /** Actions registered and not yet run. */
    static int pending() {
        return REGISTERED.size();
    }

    private static void drain() {
        while (true) {
            Reference<?> r;
            try {
                r = QUEUE.remove(IDLE_MILLIS);
            } catch (InterruptedException e) {
                continue; // a leaked node must still be freed: only idleness ends this thread
            }
            if (r != null) {
                try {
                    ((Ref) r).clean();
                } catch (Throwable t) {
                    // Like Cleaner: a failing action is ignored and the others still run.
                }
                continue;
            }
            synchronized (NativeCleaner.class) {
                // An enqueued reference stays registered until cleaned, so empty means no work.
                if (REGISTERED.isEmpty()) {
                    thread = null;
                    return;
                }
            }
        }
    }

    private static final class Ref extends PhantomReference<Object> implements Cleanable {
        private final Runnable action;

        Ref(Object owner, Runnable action) {
            super(owner, QUEUE);
            this.action = action;
        }

        @Override
        public void clean() {
            // Whoever removes it runs the action: exactly once across close() and the cleaner thread.
            if (REGISTERED.remove(this)) {
                clear();
                action.run();
            }
        }
    }
}
