# Reference fits with R's survival package on tests/data/{lung,ovarian}.csv, written as raw CSVs
# into outputs/ (the Python tests compare against these files without needing R).
#
# Usage (from the repository root): Rscript validation/survival/survival.R [data_dir] [out_dir]
#   KM (survfit, conf.type = "log", conf.int = 0.95): summary(fit, censored = TRUE) rows per stratum
#   medians and their CIs: summary(fit)$table
#   log-rank (survdiff), also stratified (strata()), observed/expected per group
#   Cox (coxph, ties = "efron" and "breslow", robust = FALSE): coef, se, loglik (null, fitted)
suppressMessages(library(survival))
args <- commandArgs(trailingOnly = TRUE)
data_dir <- if (length(args) > 0) args[1] else "tests/data"
out <- if (length(args) > 1) args[2] else "validation/survival/outputs"
dir.create(out, showWarnings = FALSE, recursive = TRUE)

lung <- read.csv(file.path(data_dir, "lung.csv"))
ovarian <- read.csv(file.path(data_dir, "ovarian.csv"))
data <- list(lung = lung, ovarian = ovarian)

# ---- Kaplan-Meier tables and medians --------------------------------------------------------
km_specs <- list(
  list(dataset = "lung", label = "all", f = Surv(time, status) ~ 1),
  list(dataset = "lung", label = "sex", f = Surv(time, status) ~ sex),
  list(dataset = "lung", label = "ph.ecog", f = Surv(time, status) ~ ph.ecog),
  list(dataset = "ovarian", label = "all", f = Surv(futime, fustat) ~ 1),
  list(dataset = "ovarian", label = "rx", f = Surv(futime, fustat) ~ rx)
)
km_rows <- NULL
med_rows <- NULL
for (s in km_specs) {
  fit <- survfit(s$f, data = data[[s$dataset]], conf.type = "log", conf.int = 0.95)
  sm <- summary(fit, censored = TRUE)
  strata <- if (is.null(sm$strata)) rep("all", length(sm$time)) else sub("^.*=", "", as.character(sm$strata))
  km_rows <- rbind(km_rows, data.frame(
    dataset = s$dataset, by = s$label, group = strata, time = sm$time, n_risk = sm$n.risk,
    n_event = sm$n.event, n_censor = sm$n.censor, surv = sm$surv, std_err = sm$std.err,
    lower = sm$lower, upper = sm$upper
  ))
  tab <- summary(fit)$table
  if (is.null(dim(tab))) tab <- t(as.matrix(tab))
  groups <- if (is.null(fit$strata)) "all" else sub("^.*=", "", names(fit$strata))
  med_rows <- rbind(med_rows, data.frame(
    dataset = s$dataset, by = s$label, group = groups, n = tab[, "records"], events = tab[, "events"],
    median = tab[, "median"], lcl = tab[, "0.95LCL"], ucl = tab[, "0.95UCL"], row.names = NULL
  ))
}
write.csv(km_rows, file.path(out, "km.csv"), row.names = FALSE)
write.csv(med_rows, file.path(out, "km_medians.csv"), row.names = FALSE)

# ---- log-rank: plain and stratified -------------------------------------------------------
lr_specs <- list(
  list(dataset = "lung", label = "sex", strata = "", f = Surv(time, status) ~ sex),
  list(dataset = "lung", label = "ph.ecog", strata = "", f = Surv(time, status) ~ ph.ecog),
  list(dataset = "lung", label = "sex", strata = "ph.ecog", f = Surv(time, status) ~ sex + strata(ph.ecog)),
  list(dataset = "lung", label = "sex", strata = "inst", f = Surv(time, status) ~ sex + strata(inst)),
  list(dataset = "ovarian", label = "rx", strata = "", f = Surv(futime, fustat) ~ rx),
  list(dataset = "ovarian", label = "rx", strata = "resid.ds", f = Surv(futime, fustat) ~ rx + strata(resid.ds))
)
lr_rows <- NULL
for (s in lr_specs) {
  sd <- survdiff(s$f, data = data[[s$dataset]])
  df <- length(sd$n) - 1
  obs <- if (is.matrix(sd$obs)) rowSums(sd$obs) else sd$obs
  ex <- if (is.matrix(sd$exp)) rowSums(sd$exp) else sd$exp
  lr_rows <- rbind(lr_rows, data.frame(
    dataset = s$dataset, by = s$label, strata = s$strata, group = sub("^.*=", "", names(sd$n)),
    n = as.integer(sd$n), observed = obs, expected = ex, chisq = sd$chisq, df = df,
    p = pchisq(sd$chisq, df, lower.tail = FALSE), row.names = NULL
  ))
}
write.csv(lr_rows, file.path(out, "logrank.csv"), row.names = FALSE)

# ---- Cox: efron and breslow ---------------------------------------------------------------
cox_specs <- list(
  list(dataset = "lung", model = "sex+age", f = Surv(time, status) ~ sex + age),
  list(dataset = "lung", model = "sex+age+ph.ecog", f = Surv(time, status) ~ sex + age + ph.ecog),
  list(dataset = "lung", model = "sex+age|strata(ph.ecog)", f = Surv(time, status) ~ sex + age + strata(ph.ecog)),
  list(dataset = "ovarian", model = "rx+age", f = Surv(futime, fustat) ~ factor(rx) + age),
  list(dataset = "ovarian", model = "rx+age+ecog.ps", f = Surv(futime, fustat) ~ factor(rx) + age + ecog.ps)
)
cox_rows <- NULL
for (s in cox_specs) for (ties in c("efron", "breslow")) {
  fit <- coxph(s$f, data = data[[s$dataset]], ties = ties, robust = FALSE,
               control = coxph.control(eps = 1e-12, toler.chol = 1e-14, iter.max = 100))
  cox_rows <- rbind(cox_rows, data.frame(
    dataset = s$dataset, model = s$model, ties = ties, term = names(coef(fit)), coef = unname(coef(fit)),
    se = unname(sqrt(diag(vcov(fit)))), loglik_null = fit$loglik[1], loglik = fit$loglik[2],
    n = fit$n, nevent = fit$nevent, iter = fit$iter, row.names = NULL
  ))
}
write.csv(cox_rows, file.path(out, "cox.csv"), row.names = FALSE)

writeLines(c(R.version.string, paste("survival", as.character(packageVersion("survival")))),
           file.path(out, "session.txt"))
cat("wrote km.csv km_medians.csv logrank.csv cox.csv session.txt to", out, "\n")
