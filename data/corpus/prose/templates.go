package prose

// Sentence templates. Slots in braces are filled by render (see render.go for the
// list); a digit after a slot name reuses one draw within the sentence ({n1} ...
// {the_n1} name the same thing), and a capital first letter capitalises the slot.

// narrative sentences tell what the paragraph's character P (and Q) did, in the past tense.
var narrative = []string{
	"{Time}, {P} {vt.past} {the_n} {pp}.",
	"{P} {vt.past} {the_n} and {vt2.past} {the_n2}.",
	"When {the_subj} {vi.past}, {pron} {vt.past} {the_n} {adv}.",
	"Because {the_n1} was {adj}, {pron} {vt.past} it {adv}.",
	"{Pron} had never seen {a_N1} so {adj}.",
	"There were {num} {adj} {ns} {pp}, and {P} {vt.past} every one of them.",
	"{P} counted the {ns} twice and wrote the number in {poss} notebook.",
	"{Q} {vt.past} {the_n} while {P} {vt2.past} {the_n2}.",
	"{P} felt {feeling}, and {pron} {vt.past} {the_n} {adv}.",
	"{Conn}, {pron} {vt.past} {np} {pp}.",
	"{P} did not {vt} {the_n} that day, because {the_subj} {vi.past} {pp}.",
	"By {weekday}, {pron} had finished with {the_n}, and {the_subj} {vi.past} {adv}.",
	"{Poss} {tool1} was {adj}, so {pron} borrowed {Q}'s {tool1}.",
	"{P} and {Q} {vt.past} {some_ns} {pp} {time}.",
	"In {month} {year}, {P} {vt.past} {digits} {ns}.",
	"{Pron} {vt.past} {the_n}, then {vt2.past} {the_n2}, and finally {vt3.past} {the_n3}.",
	"{P} watched {the_subj} {vi} {pp} for a long time.",
	"Nobody knew why {the_subj} {vi.past} {time}.",
	"{P} asked {Q} to {vt} {the_n}, and {qpron} agreed at once.",
	"{Time}, {the_subj} {vi.past} {pp}, and {P} went out to look.",
	"{Pron} carried {poss} {tool} {pp} and set it down {adv}.",
	"It took {P} {num} days to {vt} {the_n}.",
	"{P} found {a_n} {pp} and took it home.",
	"For once, {the_subj} {vi.past} {adv}, and {P} was {feeling}.",
	"{Q} had left {a_n} {pp}, so {P} {vt.past} it.",
	"{P} remembered what {poss} mother had said about {the_ns}.",
	"{Pron} stood {pp} and listened while {the_subjs} {vi.past}.",
	"{P} kept {poss} {tool} {pp}, where nobody else would move it.",
}

// sayings are lines of dialogue; P speaks, Q answers.
var sayings = []string{
	"\"{Vt} {the_n} {adv},\" {said} {P}.",
	"\"Where did you put {the_n}?\" {asked} {Q}.",
	"\"{The_n1} is {adj},\" {said} {Q}. \"We should {vt} it {when}.\"",
	"\"Have you seen {the_subj}?\" {asked} {P}. \"It {vi.past} {pp} an hour ago.\"",
	"\"I will {vt} {the_n} myself,\" {said} {P}, \"if nobody else has time.\"",
	"\"Bring me {a_n} and {a_n2},\" {said} {Q}.",
	"\"Not yet,\" {said} {P}. \"Wait until {the_subj} {vi.s3}.\"",
	"\"Why do you always {vt} {the_ns} {when}?\" {asked} {Q}.",
	"\"Because it is easier,\" {said} {P}, and {pron} smiled.",
	"\"There are {num} {ns} {pp},\" {said} {Q}. \"Count them again.\"",
	"\"Is {the_n} {adj} enough?\" {asked} {P}.",
	"\"Leave {the_ns} where they are,\" {said} {Q}. \"I will {vt} them tomorrow.\"",
}

// essay sentences state general truths in the present tense.
var essay = []string{
	"{Conn}, {the_subj} {vi.s3} {when}.",
	"A {adj} {n} is easier to {vt} than a {adj2} one.",
	"It is wise to {vt} {the_n} {when}.",
	"Some people {vt} their {ns} every day; others wait until {the_subj} {vi.s3}.",
	"No one should {vt} {a_n} {when}.",
	"{Subjs} {vi} {adv} {when}.",
	"There is no better time to {vt} {the_ns} than {when}.",
	"Every {role} knows that {the_subj} {vi.s3} {when}.",
	"A careful {role} {vt.s3} {the_n} {adv} and keeps a record of it.",
	"The {adj} {ns} are often the most useful.",
	"If you {vt} {the_n} {when}, it will last for many years.",
	"Experience teaches more than any book, but books help too.",
	"Most of the work is simple, and all of it takes time.",
	"A {role} who is in a hurry will {vt} the wrong {n}.",
}

// openers start a narrative paragraph and introduce P.
var openers = []string{
	"{P} lived {pp} for {num} years.",
	"{Time}, {P} set out for {place}.",
	"Nobody worked harder than {P}.",
	"{P} was {feeling} that morning.",
	"Everyone in the village knew {P}, who kept {poss} {tool} {pp}.",
	"{P} had been {a_role} since {poss} youth.",
	"This is the story of {P} and {the_n}.",
}

// stepOpeners introduce a paragraph of instructions.
var stepOpeners = []string{
	"{P} always followed the same steps.",
	"Here is how {P} did it.",
	"The method is old, and it has not changed much.",
	"Anyone can learn this with a little practice.",
	"{P} taught the work to {Q} like this.",
}
