package io.gradwatch.common.http;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The executor behind {@link HttpService}: a fixed number of workers with a bounded queue, and a
 * watchdog that cuts off a client that is too slow to send its request or take its response.
 *
 * <p>The JDK's server reads the request line and headers on the executor's thread, in blocking
 * mode, as soon as the first byte arrives ({@code sun.net.httpserver.ServerImpl.Exchange.run}); so
 * a client that dribbles its headers or announces a body it never sends holds a worker. Its own
 * limit ({@code sun.net.httpserver.maxReqTime}) is a JVM-wide property in whole seconds, read once
 * when the first server of the JVM is created. Here each task instead carries a {@link Watch}: while
 * it is armed (reading the request, writing the response) the watchdog interrupts the worker once
 * the deadline passes, which closes the connection's channel and ends the blocked read or write.
 *
 * <p>When every worker is busy and the queue is full, the request goes to a two-thread overflow
 * pool whose only answer is 503; when that is busy too, the JDK server closes the connection.
 */
final class WorkerPool implements Executor, AutoCloseable {
    private static final int OVERFLOW_THREADS = 2;
    private static final ThreadLocal<Watch> CURRENT = new ThreadLocal<>();

    private final long timeoutNanos;
    private final ThreadPoolExecutor workers;
    private final ThreadPoolExecutor overflow;
    private final ScheduledExecutorService watchdog;
    private final Set<Watch> active = ConcurrentHashMap.newKeySet();
    private final AtomicLong timedOut = new AtomicLong();
    private final AtomicLong rejected = new AtomicLong();

    WorkerPool(String threadName, HttpLimits limits) {
        this.timeoutNanos = limits.readTimeout().toNanos();
        workers = new ThreadPoolExecutor(limits.threads(), limits.threads(), 30, TimeUnit.SECONDS,
                limits.queue() == 0 ? new SynchronousQueue<>() : new LinkedBlockingQueue<>(limits.queue()),
                daemons(threadName));
        workers.allowCoreThreadTimeOut(true);
        overflow = new ThreadPoolExecutor(0, OVERFLOW_THREADS, 30, TimeUnit.SECONDS, new SynchronousQueue<>(),
                daemons(threadName + "-busy"));
        watchdog = Executors.newSingleThreadScheduledExecutor(daemons(threadName + "-watchdog"));
        long tick = Math.max(TimeUnit.MILLISECONDS.toNanos(10), Math.min(TimeUnit.MILLISECONDS.toNanos(200),
                timeoutNanos / 10));
        watchdog.scheduleAtFixedRate(this::expire, tick, tick, TimeUnit.NANOSECONDS);
    }

    @Override
    public void execute(Runnable exchange) {
        try {
            workers.execute(() -> watched(exchange, false));
        } catch (RejectedExecutionException full) {
            rejected.incrementAndGet();
            overflow.execute(() -> watched(exchange, true));
        }
    }

    /** The watch of the request this thread is serving, or null outside a request. */
    static Watch current() {
        return CURRENT.get();
    }

    long timedOut() {
        return timedOut.get();
    }

    long rejected() {
        return rejected.get();
    }

    /** Workers serving a request now. */
    int busy() {
        return workers.getActiveCount();
    }

    /** Requests waiting for a worker. */
    int queued() {
        return workers.getQueue().size();
    }

    private void watched(Runnable exchange, boolean overloaded) {
        Watch watch = new Watch(Thread.currentThread(), overloaded);
        watch.arm();
        active.add(watch);
        CURRENT.set(watch);
        try {
            exchange.run();
        } finally {
            CURRENT.remove();
            active.remove(watch);
            watch.finish();
        }
    }

    private void expire() {
        long now = System.nanoTime();
        for (Watch watch : active) {
            if (watch.expire(now)) {
                timedOut.incrementAndGet();
            }
        }
    }

    @Override
    public void close() {
        watchdog.shutdownNow();
        workers.shutdown();
        overflow.shutdown();
        try {
            workers.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        workers.shutdownNow();
        overflow.shutdownNow();
    }

    private static ThreadFactory daemons(String name) {
        AtomicInteger count = new AtomicInteger();
        return runnable -> {
            Thread thread = new Thread(runnable, name + "-" + count.incrementAndGet());
            thread.setDaemon(true);
            return thread;
        };
    }

    /** One request's deadline: armed while the server waits on the client, disarmed while a handler runs. */
    final class Watch {
        private final Thread thread;
        private final boolean overloaded;
        private long deadline;
        private boolean armed;
        private boolean done;

        private Watch(Thread thread, boolean overloaded) {
            this.thread = thread;
            this.overloaded = overloaded;
        }

        /** True when every worker was busy: the request is to be answered 503 without running a handler. */
        boolean overloaded() {
            return overloaded;
        }

        /** Starts the client's time: it has the read timeout from now to send or take what is pending. */
        synchronized void arm() {
            deadline = System.nanoTime() + timeoutNanos;
            armed = true;
        }

        /** The handler runs without a deadline: a client that is waiting costs nothing to interrupt. */
        synchronized void disarm() {
            armed = false;
        }

        private synchronized boolean expire(long now) {
            if (done || !armed || now - deadline < 0) {
                return false;
            }
            armed = false;
            thread.interrupt();
            return true;
        }

        /** On the worker, after the request: an interrupt aimed at this request must not hit the next one. */
        private synchronized void finish() {
            done = true;
            Thread.interrupted();
        }
    }
}
