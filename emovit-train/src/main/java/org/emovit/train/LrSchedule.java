package org.emovit.train;

/**
 * LAVIS's linear_warmup_cosine_lr: during the first epoch the rate rises linearly from warmup_lr towards init_lr
 * over warmup_steps (capped at init_lr); from the second epoch on it follows a cosine from init_lr to min_lr
 * over the epochs, one value per epoch.
 */
public record LrSchedule(double initLr, double minLr, double warmupLr, int warmupSteps, int maxEpoch) {

    public static LrSchedule of(TrainConfig c) {
        return new LrSchedule(c.initLr(), c.minLr(), c.warmupLr(), c.warmupSteps(), c.maxEpoch());
    }

    public double lr(int epoch, int stepInEpoch) {
        if (epoch == 0) {
            double lr = warmupLr + (initLr - warmupLr) * stepInEpoch / Math.max(warmupSteps, 1);
            return Math.min(lr, initLr);
        }
        if (epoch >= maxEpoch) {
            return minLr;   // past the schedule (--max-steps beyond max_epoch): stay at the floor, not wrap around
        }
        return (initLr - minLr) * 0.5 * (1.0 + Math.cos(Math.PI * epoch / maxEpoch)) + minLr;
    }
}
