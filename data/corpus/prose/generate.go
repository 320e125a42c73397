package prose

import (
	"strings"

	"github.com/moetrain/moetrain/data/internal/rng"
)

// The parameters of the project's embedded corpus.
const (
	DefaultSeed = 1
	DefaultSize = 450_000
)

// Generate returns prose of at least size bytes (whole chapters; the last one
// overshoots by a few kilobytes at most) drawn from seed. Chapters are a title
// line and paragraphs, each paragraph one line, separated by blank lines.
func Generate(seed uint64, size int) string {
	r := rng.New(seed)
	var sb strings.Builder
	var order []*topic
	for sb.Len() < size {
		if len(order) == 0 {
			order = append(order, topics...)
			r.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		}
		t := order[0]
		order = order[1:]
		writeChapter(&sb, r, t)
	}
	return sb.String()
}

// writeChapter writes a title and four to eight paragraphs about t.
func writeChapter(sb *strings.Builder, r *rng.Rand, t *topic) {
	hero := t.people[r.IntN(len(t.people))]
	w := &writer{r: r, t: t, p: character{ref: hero.name, she: hero.she}}
	w.q = w.other(w.p)
	sb.WriteString(titleCase(w.render(t.titles[r.IntN(len(t.titles))])))
	sb.WriteString("\n\n")
	for range 4 + r.IntN(5) {
		if r.IntN(5) < 3 {
			w.p = character{ref: hero.name, she: hero.she}
		} else {
			w.p = w.someone()
		}
		w.q = w.other(w.p)
		var sents []string
		switch k := r.IntN(20); {
		case k < 9:
			sents = w.narrativeParagraph()
		case k < 14:
			sents = w.essayParagraph()
		case k < 18:
			sents = w.dialogueParagraph()
		default:
			sents = w.stepsParagraph()
		}
		sb.WriteString(strings.Join(sents, " "))
		sb.WriteString("\n\n")
	}
}

// someone returns a named person or a role of the topic.
func (w *writer) someone() character {
	if w.r.IntN(3) == 0 {
		return character{ref: w.pick(w.t.roles), she: w.r.IntN(2) == 0}
	}
	p := w.t.people[w.r.IntN(len(w.t.people))]
	return character{ref: p.name, she: p.she}
}

// other returns someone other than c.
func (w *writer) other(c character) character {
	for {
		if o := w.someone(); o.ref != c.ref {
			return o
		}
	}
}

// distinct returns n different entries of list in a random order (all of them if
// the list is shorter).
func (w *writer) distinct(list []string, n int) []string {
	idx := make([]int, len(list))
	for i := range idx {
		idx[i] = i
	}
	w.r.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
	out := make([]string, 0, n)
	for _, i := range idx[:min(n, len(idx))] {
		out = append(out, list[i])
	}
	return out
}

func (w *writer) renderAll(out []string, tmpls []string) []string {
	for _, t := range tmpls {
		out = append(out, w.render(t))
	}
	return out
}

func (w *writer) narrativeParagraph() []string {
	var out []string
	if w.r.IntN(2) == 0 {
		out = append(out, w.render(w.pick(openers)))
	}
	return w.renderAll(out, w.distinct(narrative, 3+w.r.IntN(4)))
}

func (w *writer) essayParagraph() []string {
	facts := w.distinct(w.t.facts, 1+w.r.IntN(2))
	general := w.distinct(essay, 1+w.r.IntN(3))
	out := w.renderAll(nil, facts[:1])
	rest := append(facts[1:], general...)
	w.r.Shuffle(len(rest), func(i, j int) { rest[i], rest[j] = rest[j], rest[i] })
	return w.renderAll(out, rest)
}

func (w *writer) dialogueParagraph() []string {
	out := w.renderAll(nil, w.distinct(sayings, 3+w.r.IntN(3)))
	if w.r.IntN(2) == 0 {
		out = append(out, w.render(w.pick(narrative)))
	}
	return out
}

// stepsParagraph gives at least three of the topic's steps, in their order.
func (w *writer) stepsParagraph() []string {
	steps := w.t.steps
	if len(steps) < 3 {
		return w.essayParagraph()
	}
	out := []string{w.render(w.pick(stepOpeners))}
	skip := -1
	if len(steps) > 3 {
		skip = w.r.IntN(len(steps) + 1) // len(steps) skips none
	}
	for i, s := range steps {
		if i != skip {
			out = append(out, w.render(s))
		}
	}
	if w.r.IntN(2) == 0 {
		out = append(out, w.render(w.pick(essay)))
	}
	return out
}

// minorWords stay lower-case inside a title.
var minorWords = map[string]bool{"a": true, "an": true, "the": true, "and": true, "at": true, "of": true,
	"in": true, "on": true, "for": true, "to": true, "by": true, "off": true}

// titleCase capitalises the words of a title except minor words after the first.
func titleCase(s string) string {
	words := strings.Fields(s)
	for i, wd := range words {
		if i == 0 || !minorWords[wd] {
			words[i] = capitalize(wd)
		}
	}
	return strings.Join(words, " ")
}
