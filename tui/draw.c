/* draw.c - the drawing helpers and the list cursor every view uses. */
#define _XOPEN_SOURCE 700
#define _XOPEN_SOURCE_EXTENDED 1
#include <curses.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "tui.h"

#define PUT_MAX 2048 /* bytes of one escaped piece of text on one row */

static attr_t style_attr(tui_style st)
{
    static const struct { short pair; attr_t color, mono; } table[STYLE_COUNT] = {
        [STYLE_NORMAL] = {0, A_NORMAL, A_NORMAL},
        [STYLE_TITLE] = {1, A_REVERSE | A_BOLD, A_REVERSE | A_BOLD},
        [STYLE_CURSOR] = {0, A_REVERSE, A_REVERSE},
        [STYLE_DIM] = {0, A_DIM, A_NORMAL},
        [STYLE_HEAD] = {0, A_BOLD | A_UNDERLINE, A_BOLD | A_UNDERLINE},
        [STYLE_OK] = {2, A_NORMAL, A_NORMAL},
        [STYLE_WARN] = {3, A_BOLD, A_NORMAL},
        [STYLE_FAIL] = {4, A_BOLD, A_BOLD},
        [STYLE_QUANT] = {5, A_NORMAL, A_NORMAL},
        [STYLE_KEPT] = {0, A_NORMAL, A_NORMAL},
    };
    if (!tui.color)
        return table[st].mono;
    return table[st].color | (table[st].pair ? COLOR_PAIR(table[st].pair) : 0);
}

int tui_cols(void) { return COLS; }
int tui_lines(void) { return LINES; }

/* Bytes of the longest prefix of s that fits in width columns; *cols gets
 * the columns it takes. s is valid UTF-8 (escaped). */
static size_t fit(const char *s, int width, int *cols)
{
    mbstate_t ps;
    memset(&ps, 0, sizeof ps);
    size_t off = 0, len = strlen(s);
    int used = 0;
    while (off < len) {
        wchar_t wc;
        size_t k = mbrtowc(&wc, s + off, len - off, &ps);
        if (k == (size_t)-1 || k == (size_t)-2 || k == 0)
            break;
        int w = wcwidth(wc);
        if (w < 0)
            w = 1;
        if (used + w > width)
            break;
        used += w;
        off += k;
    }
    *cols = used;
    return off;
}

int tui_put_trusted(int y, int x, int width, tui_style st, const char *text)
{
    if (width <= 0 || y < 0 || y >= LINES || x >= COLS)
        return 0;
    if (x + width > COLS)
        width = COLS - x;
    int cols;
    size_t n = fit(text, width, &cols);
    attr_t a = style_attr(st);
    attron(a);
    mvaddnstr(y, x, text, (int)n);
    attroff(a);
    return cols;
}

/* In ASCII mode every byte past 0x7F is shown as \xNN: the terminal may not
 * be able to draw it. */
static void ascii_only(const char *in, char *out, size_t outlen)
{
    size_t o = 0;
    for (; *in && o + 5 < outlen; in++) {
        unsigned char c = (unsigned char)*in;
        if (c < 0x80)
            out[o++] = (char)c;
        else
            o += (size_t)snprintf(out + o, outlen - o, "\\x%02X", c);
    }
    out[o] = '\0';
}

static int wide_width(wchar_t c)
{
    int w = wcwidth(c);
    return w < 0 ? 1 : w;
}

/* Text wider than width loses its middle, as ncdu shows long names: the
 * end of a tensor name is what tells it from its siblings. */
static int put_fitted(int y, int x, int width, tui_style st, const char *text)
{
    wchar_t w[PUT_MAX], out[PUT_MAX];
    size_t n = mbstowcs(w, text, PUT_MAX - 1);
    if (n == (size_t)-1)
        return tui_put_trusted(y, x, width, st, text);
    int total = 0;
    for (size_t i = 0; i < n; i++)
        total += wide_width(w[i]);
    if (total <= width || width < 8 || x + width > COLS)
        return tui_put_trusted(y, x, width, st, text);
    int head_w = (width - 1) / 2, tail_w = width - 1 - head_w, used = 0;
    size_t o = 0, head = 0, tail = n;
    while (head < n && used + wide_width(w[head]) <= head_w)
        used += wide_width(w[head]), out[o++] = w[head++];
    out[o++] = tui.ascii ? L'~' : L'\u2026';
    used = 0;
    while (tail > head && used + wide_width(w[tail - 1]) <= tail_w)
        used += wide_width(w[--tail]);
    while (tail < n)
        out[o++] = w[tail++];
    attr_t a = style_attr(st);
    attron(a);
    mvaddnwstr(y, x, out, (int)o);
    attroff(a);
    return width;
}

int tui_put(int y, int x, int width, tui_style st, const char *text)
{
    char shown[PUT_MAX];
    model_escape(text ? text : "", shown, sizeof shown);
    if (tui.ascii) {
        char plain[PUT_MAX];
        ascii_only(shown, plain, sizeof plain);
        return put_fitted(y, x, width, st, plain);
    }
    return put_fitted(y, x, width, st, shown);
}

int tui_putf(int y, int x, int width, tui_style st, const char *fmt, ...)
{
    char buf[PUT_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return tui_put(y, x, width, st, buf);
}

int tui_headf(int y, int x, int width, tui_style st, const char *fmt, ...)
{
    char buf[PUT_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return tui_put_trusted(y, x, width, st, buf);
}

void tui_fill(int y, int x, tui_style st)
{
    if (y < 0 || y >= LINES)
        return;
    attr_t a = style_attr(st);
    attron(a);
    for (int c = x; c < COLS; c++)
        mvaddch(y, c, ' ');
    attroff(a);
}

void tui_bar(int y, int x, int width, double f, tui_style st)
{
    static const char *const eighths[] = {"", "\u258F", "\u258E", "\u258D", "\u258C", "\u258B", "\u258A", "\u2589"};
    if (width <= 0)
        return;
    if (!(f >= 0))
        f = 0;
    if (f > 1)
        f = 1;
    int units = (int)lround(f * width * 8);
    char buf[PUT_MAX];
    size_t o = 0;
    for (int c = 0; c < width && o + 8 < sizeof buf; c++) {
        int u = units - c * 8;
        const char *cell = u >= 8 ? (tui.ascii ? "#" : "\u2588") : u > 0 ? (tui.ascii ? (u >= 4 ? "#" : ".") : eighths[u]) : " ";
        size_t k = strlen(cell);
        memcpy(buf + o, cell, k);
        o += k;
    }
    buf[o] = '\0';
    tui_put_trusted(y, x, width, st, buf);
}

char *tui_bytes(uint64_t n, char *out, size_t outlen)
{
    static const char *const units[] = {"B", "kB", "MB", "GB", "TB", "PB"};
    double v = (double)n;
    int u = 0;
    while (v >= 1000 && u < 5) {
        v /= 1000;
        u++;
    }
    if (u == 0)
        snprintf(out, outlen, "%llu B", (unsigned long long)n);
    else
        snprintf(out, outlen, "%.1f %s", v, units[u]);
    return out;
}

char *tui_shape(const uint64_t *shape, int rank, char *out, size_t outlen)
{
    size_t o = (size_t)snprintf(out, outlen, "[");
    for (int i = 0; i < rank && o < outlen; i++)
        o += (size_t)snprintf(out + o, outlen - o, "%s%llu", i ? ", " : "", (unsigned long long)shape[i]);
    if (o < outlen)
        snprintf(out + o, outlen - o, "]");
    return out;
}

char *tui_num(double v, char *out, size_t outlen)
{
    if (isnan(v))
        snprintf(out, outlen, "-");
    else
        snprintf(out, outlen, "%.4g", v);
    return out;
}

/* ---- lists --------------------------------------------------------------------- */

void list_fit(tui_list *l, int rows)
{
    if (rows < 1)
        rows = 1;
    if (l->n == 0) {
        l->cursor = l->top = 0;
        return;
    }
    if (l->cursor >= l->n)
        l->cursor = l->n - 1;
    if (l->cursor < l->top)
        l->top = l->cursor;
    if (l->cursor >= l->top + (size_t)rows)
        l->top = l->cursor - (size_t)rows + 1;
    if (l->top + (size_t)rows > l->n)
        l->top = l->n > (size_t)rows ? l->n - (size_t)rows : 0;
}

bool list_key(tui_list *l, int ch, int rows)
{
    size_t page = rows > 1 ? (size_t)rows - 1 : 1;
    switch (ch) {
    case KEY_DOWN: case 'j':
        if (l->cursor + 1 < l->n)
            l->cursor++;
        break;
    case KEY_UP: case 'k':
        if (l->cursor > 0)
            l->cursor--;
        break;
    case KEY_NPAGE: case ' ': case 6: /* ^F */
        l->cursor = l->cursor + page < l->n ? l->cursor + page : (l->n ? l->n - 1 : 0);
        l->top += page;
        break;
    case KEY_PPAGE: case 2: /* ^B */
        l->cursor = l->cursor > page ? l->cursor - page : 0;
        l->top = l->top > page ? l->top - page : 0;
        break;
    case 'g': case KEY_HOME:
        l->cursor = 0;
        break;
    case 'G': case KEY_END:
        l->cursor = l->n ? l->n - 1 : 0;
        break;
    default:
        return false;
    }
    list_fit(l, rows);
    return true;
}

bool scroll_key(int *offset, int ch, int lines, int rows)
{
    int page = rows > 1 ? rows - 1 : 1, last = lines > rows ? lines - rows : 0;
    switch (ch) {
    case KEY_DOWN: case 'j': *offset += 1; break;
    case KEY_UP: case 'k': *offset -= 1; break;
    case KEY_NPAGE: case ' ': case 6: /* ^F */ *offset += page; break;
    case KEY_PPAGE: case 2: /* ^B */ *offset -= page; break;
    case 'g': case KEY_HOME: *offset = 0; break;
    case 'G': case KEY_END: *offset = last; break;
    default: return false;
    }
    *offset = *offset < 0 ? 0 : *offset > last ? last : *offset;
    return true;
}

bool tui_is_enter(int ch)
{
    return ch == '\n' || ch == '\r' || ch == KEY_ENTER || ch == 'l' || ch == KEY_RIGHT;
}

bool tui_is_back(int ch)
{
    return ch == KEY_BACKSPACE || ch == 127 || ch == 8 || ch == 'h' || ch == KEY_LEFT;
}
