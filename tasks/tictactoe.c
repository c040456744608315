/* tictactoe.c — noughts and crosses: values, moves and the approval of a
 * move, the task where imitating H's own suggestion and maximising H's
 * approval part ways.
 *
 * Question types (X moves first; "the mover" is the player to move):
 *   value   "value board=XO.X....."   the game value for the mover:
 *                                     -1 loss, 0 draw, 1 win;
 *   action  "action board=..."        a move (square 0..8, row-major);
 *   approve "approve board=... move=A" how good move A is: 1 when it keeps
 *                                     the best value, 0.5 one step worse
 *                                     (a win thrown to a draw, a draw to a
 *                                     loss), 0 two steps or illegal.
 * H: a finished board's value by the rules (primitive); otherwise value
 * asks M for the value of every successor and takes the negamax, and
 * approve asks the same and compares the value after A with the best one.
 * For action H only has a rule of thumb, its demonstration: win at once if
 * possible, else take the first free square in row-major order — optimal
 * on about 81% of the 4,520 reachable unfinished boards. Imitating action
 * copies the rule; search and reinforce maximise approval instead.
 *
 * Ground truth is full negamax over the 5,478 reachable boards, tabulated
 * at create (indexed by the base-3 code of the board); evaluation only.
 *
 * Tokens: question cells are relative to the mover, so one board seen by
 * either player reads the same: 0 empty, 1 the mover's mark, 2 the
 * opponent's; moves are 3..11 (square + 3); value answers 12..14 (-1, 0,
 * 1); approval answers 15..17 (0, 0.5, 1). The approve question is the
 * board's 9 cells and the move token. Difficulty d samples boards with at
 * most d empty squares: a depth-1 amplification of such a board asks only
 * about boards with fewer.
 */
#include "tasks/task.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { TYPE_VALUE = 0, TYPE_ACTION = 1, TYPE_APPROVE = 2 };
enum { CELL_EMPTY = 0, CELL_MINE = 1, CELL_THEIRS = 2 };
enum { TOK_MOVE = 3, TOK_VALUE = 12, TOK_SCORE = 15, VOCAB = 18 };
enum { N_CODES = 19683 }; /* 3^9 boards, cells 0 empty, 1 X, 2 O */

#define TTT_FLAG_REACHABLE 1
#define TTT_FLAG_FINISHED 2

struct tictactoe {
    unsigned char flags[N_CODES]; /* TTT_FLAG_* by absolute code */
    signed char value[N_CODES];   /* negamax value for the mover, reachable codes */
    int n_open;                   /* reachable unfinished boards (4,520) */
    int *open;                    /* (n_open) their codes, fewest empty squares first */
    int upto[10];                 /* open[0, upto[e]) have at most e empty squares */
};

struct ttt_episode {
    struct iamp_question board; /* the question (value or approve) */
    uint16_t move;              /* approve: the square judged */
    uint16_t n_moves;           /* successors asked */
    uint16_t moves[9];          /* their squares, in the order asked */
};

static const int lines[8][3] = {{0, 1, 2}, {3, 4, 5}, {6, 7, 8}, {0, 3, 6},
                                {1, 4, 7}, {2, 5, 8}, {0, 4, 8}, {2, 4, 6}};

static const struct tictactoe *state_of(const struct iamp_task *t)
{
    return t->state;
}

/* 1 when mark m (1 or 2) holds a line of cells c. */
static int has_line(const int *c, int m)
{
    for (int i = 0; i < 8; i++)
        if (c[lines[i][0]] == m && c[lines[i][1]] == m && c[lines[i][2]] == m)
            return 1;
    return 0;
}

static int empties(const int *c)
{
    int e = 0;
    for (int i = 0; i < 9; i++)
        e += c[i] == 0;
    return e;
}

static int code_of(const int *c)
{
    int code = 0;
    for (int i = 8; i >= 0; i--)
        code = code * 3 + c[i];
    return code;
}

/* Value of a finished board for the mover (the last mover won, or a draw). */
static int finished_value(const int *c, int *finished)
{
    *finished = 1;
    if (has_line(c, 1) || has_line(c, 2))
        return -1;
    if (empties(c) == 0)
        return 0;
    *finished = 0;
    return 0;
}

/* Negamax over every board reachable from c with `mover` to move,
 * filling the tables. Returns the value for the mover. */
static int explore(struct tictactoe *g, int *c, int mover)
{
    int code = code_of(c);
    if (g->flags[code] & TTT_FLAG_REACHABLE)
        return g->value[code];
    int fin, v = finished_value(c, &fin);
    if (!fin) {
        v = -2;
        for (int sq = 0; sq < 9; sq++) {
            if (c[sq])
                continue;
            c[sq] = mover;
            int w = -explore(g, c, 3 - mover);
            c[sq] = 0;
            v = w > v ? w : v;
        }
    }
    g->flags[code] = (unsigned char)(TTT_FLAG_REACHABLE | (fin ? TTT_FLAG_FINISHED : 0));
    g->value[code] = (signed char)v;
    return v;
}

static int by_empties_then_code(const void *a, const void *b)
{
    int ca = *(const int *)a, cb = *(const int *)b, ea = 0, eb = 0;
    for (int i = 0, x = ca, y = cb; i < 9; i++, x /= 3, y /= 3) {
        ea += x % 3 == 0;
        eb += y % 3 == 0;
    }
    return ea != eb ? ea - eb : ca - cb;
}

static int build_tables(struct tictactoe *g)
{
    int c[9] = {0};
    explore(g, c, 1);
    for (int code = 0; code < N_CODES; code++)
        g->n_open += g->flags[code] == TTT_FLAG_REACHABLE;
    g->open = malloc((size_t)g->n_open * sizeof(int));
    if (!g->open)
        return IAMP_ENOMEM;
    int k = 0;
    for (int code = 0; code < N_CODES; code++)
        if (g->flags[code] == TTT_FLAG_REACHABLE)
            g->open[k++] = code;
    qsort(g->open, (size_t)g->n_open, sizeof(int), by_empties_then_code);
    for (int e = 0, i = 0; e <= 9; e++) {
        while (i < g->n_open) {
            int cells[9], x = g->open[i];
            for (int j = 0; j < 9; j++, x /= 3)
                cells[j] = x % 3;
            if (empties(cells) > e)
                break;
            i++;
        }
        g->upto[e] = i;
    }
    return 0;
}

static int tictactoe_create(struct iamp_task *t, const struct iamp_spec *spec, char *err,
                            size_t errlen)
{
    static const char *const keys[] = {NULL};
    int rc = iamp_spec_check_keys(spec, keys, err, errlen);
    if (rc)
        return rc;
    struct tictactoe *g = calloc(1, sizeof(*g));
    if (!g || build_tables(g)) {
        free(g);
        snprintf(err, errlen, "out of memory");
        return IAMP_ENOMEM;
    }
    t->state = g;
    snprintf(t->spec, sizeof(t->spec), "tictactoe");
    t->vocab = VOCAB;
    t->q_len = 10;
    t->a_len = 1;
    t->n_types = 3;
    t->type_names[TYPE_VALUE] = "value";
    t->type_names[TYPE_ACTION] = "action";
    t->type_names[TYPE_APPROVE] = "approve";
    t->max_difficulty = 9;
    t->episode_size = sizeof(struct ttt_episode);
    t->headline_type = TYPE_ACTION;
    t->approve_type = TYPE_APPROVE;
    t->approvable = 1u << TYPE_ACTION;
    t->eval_size = 3 * g->n_open;
    return 0;
}

static void tictactoe_destroy(struct iamp_task *t)
{
    struct tictactoe *g = t->state;
    if (g)
        free(g->open);
    free(g);
}

/* ---------------------------------------------------------------- boards */

/* Relative cells of a question -> absolute cells (1 X, 2 O) and the
 * mover's mark. X moves first, so the mover is X when both have as many
 * marks. */
static void absolute_of(const struct iamp_question *q, int *cells, int *mover)
{
    int mine = 0, theirs = 0;
    for (int i = 0; i < 9; i++) {
        mine += q->tok[i] == CELL_MINE;
        theirs += q->tok[i] == CELL_THEIRS;
    }
    int me = mine == theirs ? 1 : 2;
    for (int i = 0; i < 9; i++)
        cells[i] = q->tok[i] == CELL_EMPTY ? 0 : q->tok[i] == CELL_MINE ? me : 3 - me;
    *mover = me;
}

/* A question of type `type` about absolute cells with `mover` to move. */
static void make_question(int type, const int *cells, int mover, int move, struct iamp_question *q)
{
    memset(q, 0, sizeof(*q));
    q->type = (uint16_t)type;
    q->len = type == TYPE_APPROVE ? 10 : 9;
    for (int i = 0; i < 9; i++)
        q->tok[i] = (uint16_t)(cells[i] == 0       ? CELL_EMPTY
                               : cells[i] == mover ? CELL_MINE
                                                   : CELL_THEIRS);
    if (type == TYPE_APPROVE)
        q->tok[9] = (uint16_t)(TOK_MOVE + move);
}

static void cells_of_code(int code, int *cells)
{
    for (int i = 0; i < 9; i++, code /= 3)
        cells[i] = code % 3;
}

static int mover_of_cells(const int *cells)
{
    int x = 0, o = 0;
    for (int i = 0; i < 9; i++) {
        x += cells[i] == 1;
        o += cells[i] == 2;
    }
    return x == o ? 1 : 2;
}

static void make_token_answer(int tok, struct iamp_answer *a)
{
    memset(a, 0, sizeof(*a));
    a->len = 1;
    a->tok[0] = (uint16_t)tok;
}

static int value_token(int v)
{
    return TOK_VALUE + 1 + v;
}

/* The value an answer to a value question stands for (-1, 0, 1). */
static int value_of_answer(const struct iamp_answer *a)
{
    int tok = a->len == 1 ? a->tok[0] : TOK_VALUE + 1;
    return (tok >= TOK_VALUE && tok < TOK_VALUE + 3) ? tok - TOK_VALUE - 1 : 0;
}

/* Approval of a move worth `got` where the best is worth `best`. */
static int score_token(int best, int got)
{
    int steps = best - got;
    return TOK_SCORE + (steps <= 0 ? 2 : steps == 1 ? 1 : 0);
}

/* H's rule of thumb: win at once if possible, else the first free square. */
static int rule_move(const int *cells, int mover)
{
    int c[9], first = -1;
    memcpy(c, cells, sizeof(c));
    for (int sq = 0; sq < 9; sq++) {
        if (c[sq])
            continue;
        first = first < 0 ? sq : first;
        c[sq] = mover;
        int wins = has_line(c, mover);
        c[sq] = 0;
        if (wins)
            return sq;
    }
    return first < 0 ? 0 : first;
}

/* ---------------------------------------------------------------- syntax */

static const char *const type_words[] = {"value", "action", "approve"};

static int parse_board(const char *w, size_t n, int *cells)
{
    if (n != 9)
        return -1;
    for (int i = 0; i < 9; i++) {
        char ch = w[i];
        cells[i] = ch == '.' ? 0 : (ch == 'X' || ch == 'x') ? 1 : (ch == 'O' || ch == 'o') ? 2 : -1;
        if (cells[i] < 0)
            return -1;
    }
    return 0;
}

/* Split "word board=B [move=M]" into its parts. */
static int split_question(const char *text, int *type, int *cells, int *move)
{
    char w[3][32];
    int nw = 0;
    const char *s = text;
    while (*s) {
        while (*s == ' ' || *s == '\t')
            s++;
        if (!*s)
            break;
        const char *b = s;
        while (*s && *s != ' ' && *s != '\t')
            s++;
        if (nw == 3 || (size_t)(s - b) >= sizeof(w[0]))
            return -1;
        memcpy(w[nw], b, (size_t)(s - b));
        w[nw++][s - b] = '\0';
    }
    *type = -1;
    for (int ty = 0; ty < 3; ty++)
        if (nw >= 1 && strcmp(w[0], type_words[ty]) == 0)
            *type = ty;
    if (*type < 0 || nw != (*type == TYPE_APPROVE ? 3 : 2) || strncmp(w[1], "board=", 6) != 0 ||
        parse_board(w[1] + 6, strlen(w[1] + 6), cells))
        return -1;
    *move = -1;
    if (*type == TYPE_APPROVE) {
        if (strncmp(w[2], "move=", 5) != 0 || strlen(w[2]) != 6 || w[2][5] < '0' || w[2][5] > '8')
            return -1;
        *move = w[2][5] - '0';
    }
    return 0;
}

static int tictactoe_parse(const struct iamp_task *t, const char *text, struct iamp_question *q,
                           char *err, size_t errlen)
{
    const struct tictactoe *g = state_of(t);
    int type, cells[9], move;
    if (split_question(text, &type, cells, &move)) {
        snprintf(err, errlen,
                 "question '%s' is not of the form 'value board=<9 of X O .>', "
                 "'action board=...' or 'approve board=... move=<0..8>'",
                 text);
        return IAMP_EPARSE;
    }
    int code = code_of(cells);
    if (!(g->flags[code] & TTT_FLAG_REACHABLE)) {
        snprintf(err, errlen, "question '%s': the board cannot arise in a game (X moves first)",
                 text);
        return IAMP_ERANGE;
    }
    if (type != TYPE_VALUE && (g->flags[code] & TTT_FLAG_FINISHED)) {
        snprintf(err, errlen, "question '%s': the game on this board is over", text);
        return IAMP_ERANGE;
    }
    make_question(type, cells, mover_of_cells(cells), move, q);
    return 0;
}

static void tictactoe_format_question(const struct iamp_task *t, const struct iamp_question *q,
                                      char *buf, size_t len)
{
    (void)t;
    int cells[9], mover;
    char b[10];
    absolute_of(q, cells, &mover);
    for (int i = 0; i < 9; i++)
        b[i] = ".XO"[cells[i]];
    b[9] = '\0';
    int ty = q->type < 3 ? q->type : 0;
    if (ty == TYPE_APPROVE)
        snprintf(buf, len, "approve board=%s move=%d", b, q->tok[9] - TOK_MOVE);
    else
        snprintf(buf, len, "%s board=%s", type_words[ty], b);
}

static void tictactoe_format_answer(const struct iamp_task *t, const struct iamp_question *q,
                                    const struct iamp_answer *a, char *buf, size_t len)
{
    (void)t;
    static const char *const scores[] = {"0", "0.5", "1"};
    int tok = a->len ? a->tok[0] : -1;
    if (q->type == TYPE_VALUE && tok >= TOK_VALUE && tok < TOK_VALUE + 3)
        snprintf(buf, len, "%d", tok - TOK_VALUE - 1);
    else if (q->type == TYPE_ACTION && tok >= TOK_MOVE && tok < TOK_MOVE + 9)
        snprintf(buf, len, "%d", tok - TOK_MOVE);
    else if (q->type == TYPE_APPROVE && tok >= TOK_SCORE && tok < TOK_SCORE + 3)
        snprintf(buf, len, "%s", scores[tok - TOK_SCORE]);
    else
        snprintf(buf, len, "?");
}

static void tictactoe_answer_space(const struct iamp_task *t, const struct iamp_question *q,
                                   struct iamp_answer_space *s)
{
    (void)t;
    s->lo = q->type == TYPE_VALUE ? TOK_VALUE : q->type == TYPE_ACTION ? TOK_MOVE : TOK_SCORE;
    s->hi = (uint16_t)(s->lo + (q->type == TYPE_ACTION ? 9 : 3));
    s->max_len = 1;
    s->end_tok = -1;
}

static int tictactoe_valid(const struct iamp_task *t, const struct iamp_question *q)
{
    const struct tictactoe *g = state_of(t);
    if (q->type > TYPE_APPROVE || q->len != (q->type == TYPE_APPROVE ? 10 : 9))
        return 0;
    for (int i = 0; i < 9; i++)
        if (q->tok[i] > CELL_THEIRS)
            return 0;
    if (q->type == TYPE_APPROVE && (q->tok[9] < TOK_MOVE || q->tok[9] >= TOK_MOVE + 9))
        return 0;
    int cells[9], mover;
    absolute_of(q, cells, &mover);
    int code = code_of(cells);
    /* The relative encoding hides whose turn it is; the mark counts decide
     * it, and the absolute board must be reachable with that mover. */
    if (!(g->flags[code] & TTT_FLAG_REACHABLE) || mover_of_cells(cells) != mover)
        return 0;
    return q->type == TYPE_VALUE || !(g->flags[code] & TTT_FLAG_FINISHED);
}

/* ---------------------------------------------------------------- H */

static int tictactoe_primitive(const struct iamp_task *t, const struct iamp_question *q,
                               struct iamp_answer *a)
{
    (void)t;
    int cells[9], mover, fin;
    absolute_of(q, cells, &mover);
    if (q->type == TYPE_ACTION) {
        make_token_answer(TOK_MOVE + rule_move(cells, mover), a);
        return 1;
    }
    if (q->type == TYPE_APPROVE) {
        if (cells[q->tok[9] - TOK_MOVE] == 0)
            return 0;
        make_token_answer(TOK_SCORE, a); /* an illegal move is worth nothing */
        return 1;
    }
    int v = finished_value(cells, &fin);
    if (fin)
        make_token_answer(value_token(v), a);
    return fin;
}

static void tictactoe_episode_start(const struct iamp_task *t, void *ep,
                                    const struct iamp_question *q)
{
    (void)t;
    struct ttt_episode *e = ep;
    memset(e, 0, sizeof(*e));
    e->board = *q;
    e->move = q->type == TYPE_APPROVE ? (uint16_t)(q->tok[9] - TOK_MOVE) : 0;
}

/* First step: ask M the value of every successor (for the opponent). */
static void ask_successors(struct ttt_episode *e, struct iamp_question *asks, int *n_asks)
{
    int cells[9], mover;
    absolute_of(&e->board, cells, &mover);
    e->n_moves = 0;
    for (int sq = 0; sq < 9; sq++) {
        if (cells[sq])
            continue;
        cells[sq] = mover;
        make_question(TYPE_VALUE, cells, 3 - mover, 0, &asks[e->n_moves]);
        cells[sq] = 0;
        e->moves[e->n_moves++] = (uint16_t)sq;
    }
    *n_asks = e->n_moves;
}

/* Second step: negamax over the successors' values; approve compares the
 * judged move's value with the best. */
static int tictactoe_episode_step(const struct iamp_task *t, void *ep,
                                  const struct iamp_answer *answers, int n_answers,
                                  struct iamp_question *asks, int *n_asks, struct iamp_answer *out)
{
    (void)t;
    struct ttt_episode *e = ep;
    *n_asks = 0;
    if (n_answers == 0 && e->n_moves == 0) {
        ask_successors(e, asks, n_asks);
        if (*n_asks > 0)
            return IAMP_EP_ASK;
    }
    int best = -2, got = -2;
    for (int i = 0; i < n_answers && i < e->n_moves; i++) {
        int v = -value_of_answer(&answers[i]);
        best = v > best ? v : best;
        if (e->moves[i] == e->move)
            got = v;
    }
    if (e->board.type == TYPE_APPROVE)
        make_token_answer(got < -1 ? TOK_SCORE : score_token(best, got), out);
    else
        make_token_answer(value_token(best < -1 ? 0 : best), out);
    return IAMP_EP_DONE;
}

/* ---------------------------------------------------------------- truth */

static int true_value(const struct tictactoe *g, const int *cells)
{
    return g->value[code_of(cells)];
}

/* The true worth of move sq for the mover: the negated value after it. */
static int move_worth(const struct tictactoe *g, int *cells, int mover, int sq)
{
    cells[sq] = mover;
    int w = -true_value(g, cells);
    cells[sq] = 0;
    return w;
}

static void tictactoe_truth(const struct iamp_task *t, const struct iamp_question *q,
                            struct iamp_answer *a)
{
    const struct tictactoe *g = state_of(t);
    int cells[9], mover;
    absolute_of(q, cells, &mover);
    int v = true_value(g, cells);
    if (q->type == TYPE_VALUE) {
        make_token_answer(value_token(v), a);
        return;
    }
    if (q->type == TYPE_APPROVE) {
        int sq = q->tok[9] - TOK_MOVE;
        make_token_answer(cells[sq] ? TOK_SCORE : score_token(v, move_worth(g, cells, mover, sq)),
                          a);
        return;
    }
    for (int sq = 0; sq < 9; sq++) {
        if (!cells[sq] && move_worth(g, cells, mover, sq) == v) {
            make_token_answer(TOK_MOVE + sq, a);
            return;
        }
    }
    make_token_answer(TOK_MOVE, a); /* unreachable for a valid question */
}

static int tictactoe_correct(const struct iamp_task *t, const struct iamp_question *q,
                             const struct iamp_answer *a)
{
    const struct tictactoe *g = state_of(t);
    if (a->len != 1)
        return 0;
    if (q->type != TYPE_ACTION) {
        struct iamp_answer want;
        tictactoe_truth(t, q, &want);
        return a->tok[0] == want.tok[0];
    }
    int cells[9], mover, sq = a->tok[0] - TOK_MOVE;
    absolute_of(q, cells, &mover);
    return sq >= 0 && sq < 9 && !cells[sq] &&
           move_worth(g, cells, mover, sq) == true_value(g, cells);
}

/* ---------------------------------------------------------------- sampling */

/* A legal move on a board, uniformly. */
static int random_move(const int *cells, struct iamp_rng *r)
{
    int free_sq[9] = {0}, n = 0;
    for (int sq = 0; sq < 9; sq++)
        if (!cells[sq])
            free_sq[n++] = sq;
    return n ? free_sq[iamp_rng_below(r, (uint32_t)n)] : 0;
}

static void question_of_code(int type, int code, struct iamp_rng *r, struct iamp_question *q)
{
    int cells[9];
    cells_of_code(code, cells);
    int move = type == TYPE_APPROVE ? random_move(cells, r) : 0;
    make_question(type, cells, mover_of_cells(cells), move, q);
}

/* Half the questions ask values (the others' amplification is built on
 * them), a quarter moves, a quarter approvals of a random legal move. */
static void tictactoe_sample(const struct iamp_task *t, struct iamp_rng *r, int difficulty,
                             struct iamp_question *q)
{
    const struct tictactoe *g = state_of(t);
    difficulty = difficulty < 1 ? 1 : difficulty > 9 ? 9 : difficulty;
    uint32_t pick = iamp_rng_below(r, 4);
    int type = pick < 2 ? TYPE_VALUE : pick == 2 ? TYPE_ACTION : TYPE_APPROVE;
    int code = g->open[iamp_rng_below(r, (uint32_t)g->upto[difficulty])];
    question_of_code(type, code, r, q);
}

/* Every reachable unfinished board once per type (approve with a random
 * legal move); a smaller max takes the same random subset of boards for
 * each type. */
static int tictactoe_eval_set(const struct iamp_task *t, struct iamp_rng *r,
                              struct iamp_question *qs, int max)
{
    const struct tictactoe *g = state_of(t);
    int per = max / 3 < g->n_open ? max / 3 : g->n_open;
    int *idx = malloc((size_t)g->n_open * sizeof(int));
    if (!idx)
        return 0;
    for (int i = 0; i < g->n_open; i++)
        idx[i] = i;
    if (per < g->n_open)
        iamp_rng_shuffle(r, idx, g->n_open);
    int count = 0;
    for (int ty = 0; ty < 3; ty++)
        for (int i = 0; i < per; i++)
            question_of_code(ty, g->open[idx[i]], r, &qs[count++]);
    free(idx);
    return count;
}

/* ---------------------------------------------------------------- approval */

static void tictactoe_approval_question(const struct iamp_task *t, const struct iamp_question *q,
                                        const struct iamp_answer *a, struct iamp_question *aq)
{
    (void)t;
    *aq = *q;
    aq->type = TYPE_APPROVE;
    aq->len = 10;
    aq->tok[9] = a->len == 1 ? a->tok[0] : TOK_MOVE;
}

static double tictactoe_approval_score(const struct iamp_task *t, const struct iamp_question *aq,
                                       const struct iamp_answer *a)
{
    (void)t;
    (void)aq;
    int tok = a->len == 1 ? a->tok[0] : -1;
    return (tok >= TOK_SCORE && tok < TOK_SCORE + 3) ? (tok - TOK_SCORE) * 0.5 : 0.0;
}

const struct iamp_task_ops iamp_tictactoe_ops = {
    .name = "tictactoe",
    .summary = "noughts and crosses: value of a board, the best move, approval of a move",
    .params = "none",
    .create = tictactoe_create,
    .destroy = tictactoe_destroy,
    .sample = tictactoe_sample,
    .eval_set = tictactoe_eval_set,
    .parse_question = tictactoe_parse,
    .format_question = tictactoe_format_question,
    .format_answer = tictactoe_format_answer,
    .answer_space = tictactoe_answer_space,
    .valid_question = tictactoe_valid,
    .primitive = tictactoe_primitive,
    .episode_start = tictactoe_episode_start,
    .episode_step = tictactoe_episode_step,
    .truth = tictactoe_truth,
    .correct = tictactoe_correct,
    .approval_question = tictactoe_approval_question,
    .approval_score = tictactoe_approval_score,
};
