package org.venicedb.blobtransfer.venice;

import com.linkedin.davinci.blobtransfer.VeniceAdaptiveBlobTransferTrafficThrottler;
import java.lang.reflect.Field;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import java.util.function.BooleanSupplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Feeds the signals a Venice server registers on its adaptive blob-transfer throttlers (read
 * latency, heartbeat lag: limiter signals; boosters) to vbt's own adaptive throttler, which applies
 * Venice's rule (factor 20..200 %, step {@code server.blob.transfer.adaptive.throttler.update.percentage},
 * idle threshold) to vbt's global read and write limits at each tick.
 *
 * <p>Venice's throttler keeps its signals in private lists ({@code limiterSuppliers},
 * {@code boosterSuppliers}) and applies them to a Netty traffic shaper that vbt does not use, so
 * they are read here by reflection, once a second (the lists themselves, so a signal registered
 * later counts too); any signal that is on turns vbt's signal on.
 * If a Venice version names those fields differently, this logs a warning and vbt's limits stay
 * at their base rates (as Venice with adaptive throttling off).
 */
final class ThrottleSignals implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(ThrottleSignals.class.getName());

    // Venice's own lists, read at each poll (a signal registered later counts too).
    private final List<List<BooleanSupplier>> limiters = new ArrayList<>();
    private final List<List<BooleanSupplier>> boosters = new ArrayList<>();
    private final BiConsumer<String, Boolean> sink;
    private final ScheduledExecutorService timer;
    private Boolean lastLimiter;
    private Boolean lastBooster;

    /**
     * @param sink receives ({@link Core#LIMITER} or {@link Core#BOOSTER}, on) whenever a signal changes
     * @return null when no throttler was given or no signal could be read
     */
    static ThrottleSignals start(BiConsumer<String, Boolean> sink, long periodMillis,
            VeniceAdaptiveBlobTransferTrafficThrottler... throttlers) {
        ThrottleSignals s = new ThrottleSignals(sink);
        boolean any = false;
        for (VeniceAdaptiveBlobTransferTrafficThrottler t : throttlers) {
            if (t != null) {
                List<BooleanSupplier> l = suppliers(t, "limiterSuppliers");
                List<BooleanSupplier> b = suppliers(t, "boosterSuppliers");
                if (l != null) {
                    s.limiters.add(l);
                }
                if (b != null) {
                    s.boosters.add(b);
                }
                any |= l != null || b != null;
            }
        }
        if (!any) {
            s.close();
            return null;
        }
        s.timer.scheduleWithFixedDelay(s::poll, 0, periodMillis, TimeUnit.MILLISECONDS);
        return s;
    }

    private ThrottleSignals(BiConsumer<String, Boolean> sink) {
        this.sink = sink;
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "vbt-venice-throttle-signals");
            t.setDaemon(true);
            return t;
        });
    }

    @SuppressWarnings("unchecked")
    private static List<BooleanSupplier> suppliers(Object throttler, String field) {
        try {
            Field f = throttler.getClass().getDeclaredField(field);
            f.setAccessible(true);
            Object v = f.get(throttler);
            if (v instanceof List) {
                return (List<BooleanSupplier>) v;
            }
            LOG.warning("the adaptive throttler's " + field + " is not a list (" + throttler.getClass().getName()
                    + "); vbt's limits stay at their base rates");
            return null;
        } catch (ReflectiveOperationException | RuntimeException e) {
            LOG.log(Level.WARNING, "cannot read the adaptive throttler's " + field + " (" + throttler.getClass().getName()
                    + "); vbt's limits stay at their base rates", e);
            return null;
        }
    }

    /** Evaluates every signal and hands changes to vbt. */
    void poll() {
        boolean limiter = any(limiters);
        boolean booster = any(boosters);
        try {
            if (lastLimiter == null || lastLimiter != limiter) {
                sink.accept(Core.LIMITER, limiter);
                lastLimiter = limiter;
            }
            if (lastBooster == null || lastBooster != booster) {
                sink.accept(Core.BOOSTER, booster);
                lastBooster = booster;
            }
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "could not pass the adaptive throttling signals to vbt", e);
        }
    }

    private static boolean any(List<List<BooleanSupplier>> lists) {
        boolean on = false;
        for (List<BooleanSupplier> signals : lists) {
            BooleanSupplier[] now;
            try {
                now = signals.toArray(new BooleanSupplier[0]);
            } catch (RuntimeException e) { // a list Venice is adding to right now: next poll
                continue;
            }
            for (BooleanSupplier s : now) {
                try {
                    on |= s != null && s.getAsBoolean();
                } catch (RuntimeException e) {
                    LOG.log(Level.FINE, "an adaptive throttling signal failed", e);
                }
            }
        }
        return on;
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }
}
