# Reference fits of the trial's secondary endpoints with base R and nlme, on the seeded datasets
# written by make_data.py; raw outputs go to outputs/ (the Python tests compare without R).
#
# Usage (from the repository root): Rscript validation/endpoints/endpoints.R [dir]
#   responder: glm(resp ~ arm + covariates, family = binomial), Wald CI = confint.default
#   slope:     nlme::lme(score ~ month * arm, random = ~ month | subject, method = "REML")
#   biomarker: lm(log(post) ~ log(base) + arm [+ site]) with LLOQ/2 (also LLOQ/sqrt(2), exclude)
suppressMessages(library(nlme))
args <- commandArgs(trailingOnly = TRUE)
dir <- if (length(args) > 0) args[1] else "validation/endpoints"
out <- file.path(dir, "outputs")
dir.create(out, showWarnings = FALSE)

# ---- responder logistic regression ----------------------------------------------------------
rd <- read.csv(file.path(dir, "responder_data.csv"), stringsAsFactors = FALSE)
rd$arm <- factor(rd$arm, levels = c("PBO", "MSC"))
rd$change <- rd$post_slope - rd$pre_slope
resp_models <- list(
  unadjusted = list(rhs = "arm", missing = "exclude"),
  adjusted = list(rhs = "arm + baseline_alsfrs + onset_months + onset_site + riluzole + pre_slope", missing = "exclude"),
  adjusted_nonresponder = list(rhs = "arm + baseline_alsfrs + onset_months + onset_site + riluzole + pre_slope",
                               missing = "nonresponder")
)
rows <- NULL
for (nm in names(resp_models)) {
  m <- resp_models[[nm]]
  d <- rd
  d$resp <- as.integer(d$change >= 1.25)
  if (m$missing == "nonresponder") d$resp[is.na(d$resp)] <- 0L
  d <- d[!is.na(d$resp), ]
  fit <- glm(as.formula(paste("resp ~", m$rhs)), family = binomial, data = d,
             control = glm.control(epsilon = 1e-14, maxit = 100))
  co <- summary(fit)$coefficients
  ci <- confint.default(fit, level = 0.95)
  rows <- rbind(rows, data.frame(
    model = nm, term = rownames(co), estimate = co[, 1], std_error = co[, 2], z = co[, 3], p = co[, 4],
    odds_ratio = exp(co[, 1]), or_lower = exp(ci[, 1]), or_upper = exp(ci[, 2]),
    n = nrow(d), responders = sum(d$resp), deviance = deviance(fit), loglik = as.numeric(logLik(fit)),
    row.names = NULL
  ))
}
write.csv(rows, file.path(out, "responder_glm.csv"), row.names = FALSE)

# ---- random-slope model --------------------------------------------------------------------
slope_rows <- NULL
for (name in c("slope_data", "slope_small")) {
  sd <- read.csv(file.path(dir, paste0(name, ".csv")), stringsAsFactors = FALSE)
  sd$arm <- factor(sd$arm, levels = c("PBO", "MSC"))
  fit <- lme(score ~ month * arm, random = ~ month | subject, data = sd, method = "REML",
             control = lmeControl(maxIter = 500, msMaxIter = 500, tolerance = 1e-10, msTol = 1e-12,
                                  niterEM = 100, opt = "nlminb"))
  tt <- summary(fit)$tTable
  g <- getVarCov(fit)
  add <- function(kind, term, est, se = NA, df = NA) {
    data.frame(dataset = name, kind = kind, term = term, estimate = est, std_error = se, df = df)
  }
  slope_rows <- rbind(
    slope_rows,
    add("fixed", rownames(tt), tt[, "Value"], tt[, "Std.Error"], tt[, "DF"]),
    add("G", c("intercept,intercept", "intercept,month", "month,month"), c(g[1, 1], g[1, 2], g[2, 2])),
    add("residual_variance", "sigma2", fit$sigma^2),
    add("reml_loglik", "logLik", as.numeric(logLik(fit))),
    add("n", c("subjects", "obs"), c(length(unique(sd$subject)), nrow(sd)))
  )
}
write.csv(slope_rows, file.path(out, "slope_lme.csv"), row.names = FALSE)

# ---- biomarker log-ANCOVA ------------------------------------------------------------------
bd <- read.csv(file.path(dir, "biomarker_data.csv"), colClasses = "character")
bd$arm <- factor(bd$arm, levels = c("PBO", "MSC"))
lloq <- 5
lloq_rule <- function(x, rule) {
  num <- suppressWarnings(as.numeric(x))
  below <- (!is.na(num) & num < lloq) | grepl("^<", x)
  sub <- switch(rule, half = lloq / 2, sqrt2 = lloq / sqrt(2), exclude = NA_real_)
  num[below] <- sub
  num[x == ""] <- NA_real_
  num
}
bio_specs <- list(
  list(rule = "half", rhs = "log(base) + arm"),
  list(rule = "sqrt2", rhs = "log(base) + arm"),
  list(rule = "exclude", rhs = "log(base) + arm"),
  list(rule = "half", rhs = "log(base) + arm + site")
)
bio_rows <- NULL
for (s in bio_specs) {
  d <- data.frame(arm = bd$arm, site = bd$site, base = lloq_rule(bd$nfl_base, s$rule),
                  post = lloq_rule(bd$nfl_post, s$rule))
  d <- d[complete.cases(d), ]
  fit <- lm(as.formula(paste("log(post) ~", s$rhs)), data = d)
  co <- summary(fit)$coefficients
  ci <- confint(fit, level = 0.95)
  bio_rows <- rbind(bio_rows, data.frame(
    rule = s$rule, model = s$rhs, term = rownames(co), estimate = co[, 1], std_error = co[, 2],
    t = co[, 3], p = co[, 4], ratio = exp(co[, 1]), ratio_lower = exp(ci[, 1]), ratio_upper = exp(ci[, 2]),
    n = nrow(d), df_resid = fit$df.residual, row.names = NULL
  ))
}
write.csv(bio_rows, file.path(out, "biomarker_lm.csv"), row.names = FALSE)

writeLines(c(R.version.string, paste("nlme", as.character(packageVersion("nlme")))), file.path(out, "session.txt"))
cat("wrote responder_glm.csv slope_lme.csv biomarker_lm.csv session.txt to", out, "\n")
