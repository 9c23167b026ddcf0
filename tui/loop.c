/* loop.c - `mxfp4-check tui`: options, the terminal, and the loop that asks
 * the current view to draw, reads a key and hands it on (ncdu's shape).
 *
 * The terminal is restored on every way out: q, an error, SIGINT, SIGTERM
 * and SIGHUP (the handler only sets a flag; the loop, woken by the key
 * timeout, leaves and calls endwin). A scripted run (--script FILE, or the
 * keys in MXFP4_CHECK_TUI_KEYS) draws the same screens onto /dev/null and
 * writes them as text (--dump FILE, else stdout): the tests' snapshots.
 *
 * This file includes cli.h, the commands' contract (exit statuses, option
 * parsing), and otherwise reaches src/ only through model.h. */
#define _XOPEN_SOURCE 700
#define _XOPEN_SOURCE_EXTENDED 1
#include <curses.h>
#include <errno.h>
#include <langinfo.h>
#include <locale.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>

#include "cli.h"
#include "tui.h"

#define KEY_TIMEOUT_MS 100      /* how often the loop looks at the worker */
#define HISTORY 64              /* views `q` goes back through */
#define PROMPT_MAX 256
#define SCRIPT_MAX (1u << 20)   /* bytes of a key script */
#define MAX_RULE_FILES 64
#define WIDE_CHAR 0x40000000    /* a typed character past ASCII: flag | code point */
#define SCRIPTED_DEFAULT_COLS 80
#define SCRIPTED_DEFAULT_LINES 24

tui_state tui;

static const tui_view *const views[VIEW_COUNT] = {
    [VIEW_SHARDS] = &view_shards, [VIEW_TREE] = &view_tree, [VIEW_TENSOR] = &view_tensor,
    [VIEW_FINDINGS] = &view_findings, [VIEW_POLICY] = &view_policy, [VIEW_HELP] = &view_help,
    [VIEW_META] = &view_meta,
};

static view_id current = VIEW_TREE;
static view_id history[HISTORY];
static int depth;
static bool quit;
static char said[512];
static volatile sig_atomic_t got_signal;
static bool screen_active;

static bool prompting;
static char prompt[PROMPT_MAX];
static size_t prompt_len;
static model_matcher *search;
static char search_text[PROMPT_MAX];

static const char usage[] =
    "usage: mxfp4-check tui [SRC] DST [--report FILE.json] [--rules FILE]... [--ascii]\n"
    "\n"
    "Browse a checkpoint: its shards, the weight map as a tree with kept and\n"
    "quantized marks and the pattern that decided each, tensors in detail (scale\n"
    "histograms, statistics against SRC on request), the findings of a report\n"
    "or of a verify run inside (v), and the rule deciding each check (e).\n"
    "Press ? inside for every key.\n"
    "\n"
    "  --report FILE   a JSON report of `verify --json` to show\n"
    "  --rules FILE    rule files, as for verify (for e and v); repeatable\n"
    "  --ascii         no block characters (also when the locale is not UTF-8)\n"
    "  --script FILE   scripted run: keys from FILE (or $MXFP4_CHECK_TUI_KEYS),\n"
    "                  screens written as text; for tests\n"
    "  --dump FILE     where a scripted run writes its screens (default stdout)\n"
    "  --size WxH      the screen of a scripted run (default 80x24)\n"
    "\n"
    "NO_COLOR set, or a terminal without colours, gives a monochrome screen.\n"
    "Exit status: 0 on q, 2 when DST, SRC, the report or a rule file cannot be\n"
    "read, 128+N after signal N (the terminal is restored).\n";

/* ---- what the views call ------------------------------------------------------------ */

void tui_open(view_id v)
{
    if (v == current)
        return;
    if (depth == HISTORY) {
        memmove(history, history + 1, (HISTORY - 1) * sizeof *history);
        depth--;
    }
    history[depth++] = current;
    current = v;
}

bool tui_back(void)
{
    if (depth == 0)
        return false;
    current = history[--depth];
    return true;
}

void tui_say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(said, sizeof said, fmt, ap);
    va_end(ap);
}

ptrdiff_t tui_current_tensor(void)
{
    switch (current) {
    case VIEW_TREE: return tree_view_current();
    case VIEW_TENSOR: return tensor_view_current();
    case VIEW_FINDINGS: return findings_view_current();
    default: return -1;
    }
}

/* ---- drawing -------------------------------------------------------------------------- */

static void draw_title(void)
{
    static const char *const tabs[] = {"1 Shards", "2 Weight map", "3 Tensor", "4 Findings", "5 Policy"};
    tui_fill(0, 0, STYLE_TITLE);
    int x = tui_put_trusted(0, 0, tui_cols(), STYLE_TITLE, "mxfp4-check ");
    for (int v = 0; v < 5; v++) {
        char tab[32];
        snprintf(tab, sizeof tab, v == (int)current ? "[%s]" : " %s ", tabs[v]);
        x += tui_put_trusted(0, x, tui_cols() - x, STYLE_TITLE, tab);
    }
    if (current >= VIEW_HELP)
        x += tui_putf(0, x, tui_cols() - x, STYLE_TITLE, "[%s]", views[current]->title);
    if (model_has_report(tui.model)) {
        model_summary s;
        model_report_summary(tui.model, &s);
        char verdict[64];
        snprintf(verdict, sizeof verdict, " %s %zuE %zuW ", s.passed ? "PASS" : "FAIL", s.errors, s.warnings);
        int w = (int)strlen(verdict);
        if (tui_cols() - w > x)
            tui_put_trusted(0, tui_cols() - w, w, STYLE_TITLE, verdict);
    }
}

static const char *job_name(model_job j)
{
    return j == JOB_HIST ? "reading scales" : j == JOB_COMPARE ? "comparing with SRC" : j == JOB_VERIFY ? "verify" : "";
}

static void draw_status(void)
{
    int y = tui_lines() - 1, cols = tui_cols();
    tui_fill(y, 0, STYLE_TITLE);
    if (prompting) {
        tui_put_trusted(y, 0, 1, STYLE_TITLE, "/");
        tui_put(y, 1, cols - 1, STYLE_TITLE, prompt);
        return;
    }
    model_progress p;
    int right = 0;
    if (model_busy(tui.model, &p) && p.job != JOB_NONE) {
        char busy[96];
        if (p.job == JOB_VERIFY && p.total)
            snprintf(busy, sizeof busy, " %s %.0f%% (x cancels) ", job_name(p.job), 100.0 * (double)p.done / (double)p.total);
        else
            snprintf(busy, sizeof busy, " %s... ", job_name(p.job));
        right = (int)strlen(busy);
        tui_put_trusted(y, cols - right, right, STYLE_TITLE, busy);
    }
    const char *text = said[0] ? said : model_message(tui.model)[0] ? model_message(tui.model) : NULL;
    char hint[256];
    if (!text) {
        snprintf(hint, sizeof hint, "%s  / search  ? help  q %s", views[current]->hint, depth ? "back" : "quit");
        text = hint;
    }
    tui_put_trusted(y, 0, cols - right - 1, STYLE_TITLE, text);
}

static void draw_all(void)
{
    erase();
    if (LINES < 5 || COLS < 20) {
        tui_put_trusted(0, 0, COLS, STYLE_NORMAL, "terminal too small");
        return;
    }
    draw_title();
    views[current]->draw(1, LINES - 2);
    draw_status();
}

/* ---- keys --------------------------------------------------------------------------------- */

static void run_search(int step, bool here)
{
    if (!search) {
        tui_say("no search yet: / starts one");
        return;
    }
    if (!views[current]->find)
        tui_open(VIEW_TREE);
    if (!views[current]->find(search, step, here))
        tui_say("not found: %s", search_text);
}

static void prompt_done(void)
{
    prompting = false;
    if (prompt_len == 0)
        return;
    char err[512];
    model_matcher *mm = model_matcher_new(prompt, err, sizeof err);
    if (!mm) {
        tui_say("search: %s", err);
        return;
    }
    model_matcher_free(search);
    search = mm;
    snprintf(search_text, sizeof search_text, "%s", prompt);
    run_search(1, true);
}

static void prompt_key(int ch)
{
    if (ch == '\n' || ch == '\r' || ch == KEY_ENTER) {
        prompt_done();
    } else if (ch == 27 || ch == 7) { /* Esc, ^G */
        prompting = false;
    } else if (ch == KEY_BACKSPACE || ch == 127 || ch == 8) {
        while (prompt_len > 0 && ((unsigned char)prompt[prompt_len - 1] & 0xC0) == 0x80)
            prompt_len--; /* a whole UTF-8 character */
        if (prompt_len > 0)
            prompt_len--;
        prompt[prompt_len] = '\0';
    } else if ((ch >= 0x20 && ch < 0x7f) || (ch & WIDE_CHAR)) {
        char mb[8];
        mbstate_t ps;
        memset(&ps, 0, sizeof ps);
        size_t k = ch & WIDE_CHAR ? wcrtomb(mb, (wchar_t)(ch & ~WIDE_CHAR), &ps) : 1;
        if (!(ch & WIDE_CHAR))
            mb[0] = (char)ch;
        if (k != (size_t)-1 && prompt_len + k < sizeof prompt) {
            memcpy(prompt + prompt_len, mb, k);
            prompt_len += k;
            prompt[prompt_len] = '\0';
        }
    }
}

static void on_tensor(bool policy)
{
    ptrdiff_t t = tui_current_tensor();
    if (t < 0) {
        tui_say("no tensor here: choose one in the weight map");
        return;
    }
    if (policy) {
        policy_view_show((size_t)t);
        return;
    }
    char err[256];
    if (model_request_compare(tui.model, (size_t)t, err, sizeof err) < 0)
        tui_say("%s", err);
    else
        tui_say("comparing with SRC in the background");
}

static void global_key(int ch)
{
    char err[256];
    switch (ch) {
    case '1': case '2': case '3': case '4': case '5':
        tui_open((view_id)(ch - '1'));
        return;
    case '\t':
        tui_open(current < VIEW_HELP ? (view_id)((current + 1) % 5) : VIEW_SHARDS);
        return;
    case KEY_BTAB:
        tui_open(current < VIEW_HELP ? (view_id)((current + 4) % 5) : VIEW_POLICY);
        return;
    case '?': tui_open(VIEW_HELP); return;
    case 'm': tui_open(VIEW_META); return;
    case 'q':
        if (!tui_back())
            quit = true;
        return;
    case 'Q': quit = true; return;
    case '/':
        prompting = true;
        prompt_len = 0;
        prompt[0] = '\0';
        return;
    case 'n': run_search(1, false); return;
    case 'N': run_search(-1, false); return;
    case 'e': on_tensor(true); return;
    case 'c': on_tensor(false); return;
    case 'v':
        if (model_start_verify(tui.model, err, sizeof err) < 0) {
            tui_say("%s", err);
            return;
        }
        tui_open(VIEW_FINDINGS);
        tui_say("verify started: x cancels");
        return;
    case 'x':
        model_cancel(tui.model);
        tui_say("cancelling");
        return;
    case 12: /* ^L */
        clearok(curscr, TRUE);
        return;
    case KEY_RESIZE:
        return; /* the next draw fits the new size */
    }
    if (tui_is_back(ch))
        tui_back();
}

static void handle_key(int ch)
{
    if (ch != KEY_RESIZE)
        said[0] = '\0';
    if (prompting) {
        prompt_key(ch);
        return;
    }
    if (views[current]->key(ch))
        return;
    global_key(ch);
}

/* Applies what the worker finished; the views' sums follow the report. */
static bool poll_model(void)
{
    static char last[sizeof said];
    if (!model_poll(tui.model))
        return false;
    if (strcmp(last, model_message(tui.model)) != 0) { /* a job's outcome is the news now */
        snprintf(last, sizeof last, "%s", model_message(tui.model));
        said[0] = '\0';
    }
    tree_view_model_changed();
    return true;
}

/* ---- the terminal ------------------------------------------------------------------------ */

static void on_signal(int sig)
{
    got_signal = sig;
}

static void restore_terminal(void)
{
    if (screen_active && !isendwin())
        endwin();
    screen_active = false;
}

static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal; /* no SA_RESTART: the key read returns */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    atexit(restore_terminal);
}

static void setup_colors(void)
{
    const char *no_color = getenv("NO_COLOR");
    tui.color = has_colors() && !(no_color && no_color[0]);
    if (!tui.color)
        return;
    start_color();
    use_default_colors();
    init_pair(1, COLOR_WHITE, COLOR_BLUE);
    init_pair(2, COLOR_GREEN, -1);
    init_pair(3, COLOR_YELLOW, -1);
    init_pair(4, COLOR_RED, -1);
    init_pair(5, COLOR_CYAN, -1);
}

static void setup_screen(void)
{
    cbreak(); /* ^C stays a signal */
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    curs_set(0);
    set_escdelay(25);
    timeout(KEY_TIMEOUT_MS);
    setup_colors();
    screen_active = true;
}

/* A key from the terminal: curses' KEY_* codes, ASCII as is, other
 * characters flagged; ERR after the timeout. */
static int read_key(void)
{
    wint_t wc;
    int r = get_wch(&wc);
    if (r == ERR)
        return ERR;
    if (r == KEY_CODE_YES)
        return (int)wc;
    return wc < 0x80 ? (int)wc : (int)(WIDE_CHAR | (int)wc);
}

static int interactive(void)
{
    /* newterm, not initscr: initscr exits 1 (this tool's "policy failed") on
     * a TERM without a terminfo entry */
    const char *term = getenv("TERM");
    char shown[64]; /* TERM is the user's, but still no control reaches the terminal */
    size_t n = 0;
    for (const char *p = term ? term : ""; *p && n + 1 < sizeof shown; p++)
        shown[n++] = *p > 0x20 && *p < 0x7f ? *p : '?';
    shown[n] = '\0';
    SCREEN *scr = newterm(NULL, stdout, stdin);
    if (!scr) {
        fprintf(stderr, "mxfp4-check tui: cannot start the terminal: no terminfo entry for TERM '%s'\n", shown);
        return EXIT_INPUT;
    }
    set_term(scr);
    const char *cup = tigetstr("cup");
    if (!cup || cup == (char *)-1) { /* TERM=dumb: a screen cannot be drawn */
        endwin();
        delscreen(scr);
        fprintf(stderr, "mxfp4-check tui: the terminal '%s' cannot place the cursor (try TERM=xterm)\n", shown);
        return EXIT_INPUT;
    }
    setup_screen();
    bool dirty = true;
    while (!quit && !got_signal) {
        model_progress p;
        bool busy = model_busy(tui.model, &p);
        if (poll_model() || busy)
            dirty = true;
        if (dirty) {
            draw_all();
            refresh();
            dirty = false;
        }
        int ch = read_key();
        if (ch == ERR)
            continue;
        handle_key(ch);
        dirty = true;
    }
    restore_terminal();
    return got_signal ? 128 + got_signal : EXIT_PASS;
}

/* ---- scripted runs ---------------------------------------------------------------------- */

static const struct { const char *name; int key; } key_names[] = {
    {"Enter", '\r'}, {"Esc", 27}, {"Tab", '\t'}, {"S-Tab", KEY_BTAB}, {"Up", KEY_UP}, {"Down", KEY_DOWN},
    {"Left", KEY_LEFT}, {"Right", KEY_RIGHT}, {"PgUp", KEY_PPAGE}, {"PgDn", KEY_NPAGE}, {"Home", KEY_HOME},
    {"End", KEY_END}, {"Backspace", KEY_BACKSPACE}, {"Space", ' '}, {"C-l", 12}, {"lt", '<'},
};

/* The screen as text: one line per row, trailing blanks cut. */
static void dump_screen(FILE *out)
{
    for (int y = 0; y < LINES; y++) {
        char line[8192];
        size_t o = 0;
        mbstate_t ps;
        memset(&ps, 0, sizeof ps);
        for (int x = 0; x < COLS && o + MB_CUR_MAX + 1 < sizeof line; x++) {
            cchar_t cc;
            wchar_t wcs[CCHARW_MAX + 1];
            attr_t attrs;
            short pair;
            if (mvin_wch(y, x, &cc) == ERR || getcchar(&cc, wcs, &attrs, &pair, NULL) == ERR || !wcs[0])
                wcs[0] = L' ';
            size_t k = wcrtomb(line + o, wcs[0], &ps);
            o += k == (size_t)-1 ? 0 : k;
            if (wcwidth(wcs[0]) == 2)
                x++;
        }
        while (o > 0 && line[o - 1] == ' ')
            o--;
        line[o] = '\0';
        fprintf(out, "%s\n", line);
    }
}

static int parse_size(const char *s, int *w, int *h)
{
    char *end;
    long a = strtol(s, &end, 10);
    if (*end != 'x')
        return -1;
    long b = strtol(end + 1, &end, 10);
    if (*end != '\0' || a < 20 || a > 1000 || b < 5 || b > 1000)
        return -1;
    *w = (int)a;
    *h = (int)b;
    return 0;
}

static void scripted_resize(int w, int h)
{
    resizeterm(h, w);
    handle_key(KEY_RESIZE);
}

static void step(FILE *out)
{
    poll_model();
    draw_all();
    refresh();
    (void)out;
}

/* Runs one token of a script: a command (":wait", ":dump", ":resize WxH"),
 * a key name in angle brackets, or characters typed one by one. */
static int run_token(const char *tok, const char *arg, FILE *out, bool *used_arg)
{
    *used_arg = false;
    if (tok[0] == ':' && tok[1]) {
        if (strcmp(tok, ":wait") == 0) {
            model_wait_idle(tui.model);
            tree_view_model_changed();
        } else if (strcmp(tok, ":dump") == 0) {
            step(out);
            dump_screen(out);
            fputs("----\n", out);
        } else if (strcmp(tok, ":resize") == 0) {
            int w, h;
            *used_arg = true;
            if (!arg || parse_size(arg, &w, &h) < 0)
                return -1;
            scripted_resize(w, h);
        } else {
            return -1;
        }
        step(out);
        return 0;
    }
    size_t len = strlen(tok);
    if (tok[0] == '<' && len > 2 && tok[len - 1] == '>') {
        for (size_t k = 0; k < sizeof key_names / sizeof key_names[0]; k++) {
            if (strlen(key_names[k].name) == len - 2 && strncmp(key_names[k].name, tok + 1, len - 2) == 0) {
                handle_key(key_names[k].key);
                step(out);
                return 0;
            }
        }
        return -1;
    }
    for (size_t k = 0; k < len && !quit; k++) {
        handle_key((unsigned char)tok[k]);
        step(out);
    }
    return 0;
}

static int scripted(char *script, const char *dump, int w, int h)
{
    FILE *out = dump ? fopen(dump, "w") : stdout;
    if (!out) {
        char shown[256];
        fprintf(stderr, "mxfp4-check tui: cannot write '%s': %s\n", model_escape(dump, shown, sizeof shown),
                strerror(errno));
        return EXIT_INPUT;
    }
    FILE *null_out = fopen("/dev/null", "w"), *null_in = fopen("/dev/null", "r");
    char cols[16], lines[16];
    snprintf(cols, sizeof cols, "%d", w);
    snprintf(lines, sizeof lines, "%d", h);
    setenv("COLUMNS", cols, 1);
    setenv("LINES", lines, 1);
    SCREEN *scr = null_out && null_in ? newterm("xterm-256color", null_out, null_in) : NULL;
    if (!scr)
        scr = null_out && null_in ? newterm("xterm", null_out, null_in) : NULL;
    int rc = EXIT_PASS;
    if (!scr) {
        fprintf(stderr, "mxfp4-check tui: no terminal description for a scripted run (xterm)\n");
        rc = EXIT_INPUT;
        goto done;
    }
    setup_screen();
    step(out);
    char *save = NULL, *tok = strtok_r(script, " \t\r\n", &save);
    while (tok && !quit && !got_signal) {
        if (tok[0] == '#') { /* a comment runs to the end of its line */
            tok = strtok_r(NULL, "\n", &save);
            tok = tok ? strtok_r(NULL, " \t\r\n", &save) : NULL;
            continue;
        }
        char *arg = NULL, *peek = save;
        if (strcmp(tok, ":resize") == 0)
            arg = strtok_r(NULL, " \t\r\n", &save);
        bool used;
        if (run_token(tok, arg, out, &used) < 0) {
            restore_terminal();
            fprintf(stderr, "mxfp4-check tui: script: cannot run '%s%s%s'\n", tok, arg ? " " : "", arg ? arg : "");
            rc = EXIT_INPUT;
            goto done;
        }
        (void)peek;
        tok = strtok_r(NULL, " \t\r\n", &save);
    }
    model_wait_idle(tui.model);
    step(out);
    dump_screen(out);
    restore_terminal();
done:
    if (scr)
        delscreen(scr);
    if (null_out)
        fclose(null_out);
    if (null_in)
        fclose(null_in);
    if (out != stdout && fclose(out) != 0 && rc == EXIT_PASS)
        rc = EXIT_INPUT;
    return got_signal ? 128 + got_signal : rc;
}

static char *read_script(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char *buf = malloc(SCRIPT_MAX + 1);
    size_t n = buf ? fread(buf, 1, SCRIPT_MAX, f) : 0;
    fclose(f);
    if (buf)
        buf[n] = '\0';
    return buf;
}

/* ---- the command ------------------------------------------------------------------------- */

typedef struct {
    model_opts m;
    const char *rules[MAX_RULE_FILES];
    const char *script, *dump;
    int w, h;
} tui_opts;

static int parse_args(int argc, char **argv, tui_opts *o)
{
    static const struct option longopts[] = {
        {"report", required_argument, NULL, 'r'}, {"rules", required_argument, NULL, 'R'},
        {"ascii", no_argument, NULL, 'a'},         {"script", required_argument, NULL, 's'},
        {"dump", required_argument, NULL, 'd'},    {"size", required_argument, NULL, 'z'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
    };
    int ch;
    optind = 1;
    while ((ch = cli_getopt(argc, argv, "h", longopts, "tui")) != -1) {
        switch (ch) {
        case 'r': o->m.report = optarg; break;
        case 'R':
            if (o->m.nrules == MAX_RULE_FILES)
                return cli_usage_error("tui", "at most %d --rules files", MAX_RULE_FILES);
            o->rules[o->m.nrules++] = optarg;
            break;
        case 'a': tui.ascii = true; break;
        case 's': o->script = optarg; break;
        case 'd': o->dump = optarg; break;
        case 'z':
            if (parse_size(optarg, &o->w, &o->h) < 0)
                return cli_usage_error("tui", "--size wants WxH, from 20x5 to 1000x1000");
            break;
        case 'h': fputs(usage, stdout); return EXIT_PASS;
        default: return EXIT_INPUT;
        }
    }
    int left = argc - optind;
    if (left < 1 || left > 2)
        return cli_usage_error("tui", "expected [SRC] DST");
    o->m.src = left == 2 ? argv[optind] : NULL;
    o->m.dst = argv[optind + left - 1];
    o->m.rules = o->rules;
    return -1;
}

int tui_main(int argc, char **argv)
{
    tui_opts o = {.w = SCRIPTED_DEFAULT_COLS, .h = SCRIPTED_DEFAULT_LINES};
    int rc = parse_args(argc, argv, &o);
    if (rc >= 0)
        return rc;
    setlocale(LC_ALL, "");
    if (strcasecmp(nl_langinfo(CODESET), "UTF-8") != 0)
        tui.ascii = true;
    const char *keys = getenv("MXFP4_CHECK_TUI_KEYS");
    char *script = NULL;
    if (o.script) {
        script = read_script(o.script);
        if (!script) {
            char shown[256];
            fprintf(stderr, "mxfp4-check tui: cannot read the script '%s': %s\n",
                    model_escape(o.script, shown, sizeof shown), strerror(errno));
            return EXIT_INPUT;
        }
    } else if (keys) {
        script = strdup(keys);
    }
    if (!script && (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))) {
        free(script);
        fprintf(stderr, "mxfp4-check tui: needs a terminal (or --script FILE for a scripted run)\n");
        return EXIT_INPUT;
    }
    char err[2048];
    if (model_open(&o.m, &tui.model, err, sizeof err) < 0) {
        free(script);
        fprintf(stderr, "mxfp4-check tui: %s\n", err);
        return EXIT_INPUT;
    }
    install_signals();
    rc = script ? scripted(script, o.dump, o.w, o.h) : interactive();
    free(script);
    model_matcher_free(search);
    model_close(tui.model);
    tui.model = NULL;
    return rc;
}
