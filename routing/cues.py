"""Cues of a question a best-practice fiche rarely answers, in the network's ten languages.

A fiche tells what a place did and what worked; it does not say what a law allows, when a
call closes, who holds an office, what something costs, how to evaluate an effect, where the
official figures are or which steps a procedure takes. Each kind below is a list of word
starts (matched at the start of a word, case-insensitively); the answerability model counts
the kinds a question shows.
"""

from __future__ import annotations

import re

__all__ = ["CUE_KINDS", "cue_kinds"]

# "May the municipality pay / fund / reimburse ...?": a question of what is allowed.
_PERMISSION = (
    r"(?:can|may|could)\s+(?:our|the|a)\s+(?:council|municipality|town|city|county|region)\s+"
    r"(?:legally\s+)?(?:pay|fund|finance|reimburse|subsidi[sz]e|grant|hire)"
    r"|(?:peut|pourrait)-(?:elle|il)\s+(?:l[ée]galement\s+)?"
    r"(?:payer|financer|rembourser|subventionner|verser|embaucher)"
    r"|(?:pu[òo]|possono)\s+(?:il|i|la)\s+(?:comun|region|provinc)\w*\s+"
    r"(?:pagare|finanziare|rimborsare|erogare|assumere)"
    r"|puede\s+(?:el|la)\s+(?:ayuntamiento|municipio|diputaci[oó]n|comunidad)\s+"
    r"(?:pagar|financiar|reembolsar|subvencionar|contratar)"
    r"|pode\s+(?:a|o)\s+(?:c[aâ]mara|munic[ií]pio|junta)\s+"
    r"(?:pagar|financiar|reembolsar|subsidiar|contratar|usar)"
    r"|(?:darf|kann)\s+(?:die|unsere|der|unser)\s+(?:gemeinde|kommune|stadt|landkreis|kreis)\s+"
    r"(?:\w+\s+){0,4}?(?:zahlen|bezahlen|finanzieren|erstatten|f[öo]rdern|einstellen)"
    r"|μπορεί\s+(?:ο|η)\s+(?:δήμος|περιφέρεια)"
    r"|(?:poate|pot)\s+(?:consiliul|primăria|primaria|jude[tț]ul)"
    r"|може\s+ли\s+(?:общината|областта)"
    r"|czy\s+(?:gmina|powiat|miasto|starostwo)\s+mo[żz]e"
)

# The asker asks for a person to advise them, or for a ruling.
_EXPERT = (
    r"expert|esperto|experto|fachleute|fachmann|εμπειρογνώμ|експерт|ekspert|consultan"
    r"|consulente|consultora|gutachte|parecer|avis juridique|legal opinion|definitive answer"
)

# A named text or a legal, tax, insurance, data-protection or recognition matter.
_LEGAL = (
    r"art\.|article|articol|articolo|art[ií]culo|artigo|artikel|artyku[łl]|άρθρ|член|§"
    r"|law|loi|legge|ley|lei|gesetz|νόμ|lege[a]?|закон|ustaw|decree|d[ée]cret|decreto|dekret"
    r"|наредб|rozporz[aą]dz|verordnung|r[eè]glement|regolamento|reglamento|regulamento"
    r"|regulation|normativ|норматив|przepis|vorschrift|κανονισμ|υπουργικ"
    r"|legal|l[ée]gal|legale|jur[ií]dic|rechtlich|νομικ|juridic|правн|prawn|vergaberecht"
    r"|procurement|march[ée]s? public|appalt|licitaci|contrata[cç][aã]o p[uú]blica|ausschreib"
    r"|διαγωνισμ|achizi[tț]i|обществена поръчка|przetarg"
    # "recursos humanos" (human resources) is not an appeal.
    r"|appeal|recours|ricorso|recurso(?!s?\s+humanos)|berufung|έφεση|contesta|обжалв|odwo[łl]an"
    r"|eligib|[ée]ligible|ammissibil|elegible|eleg[ií]vel|f[öo]rderf[äa]hig|επιλέξιμ|eligibil"
    r"|допустим|kwalifikowaln"
    r"|vat\b|tva\b|iva\b|mwst|ust\b|φπα|ддс|tax|imp[oô]t|impost|steuer|φόρ|impozit|данък"
    r"|podat|deductib|d[ée]ductib|detra[ií]b|dedu[tz]|absetzbar|εκπίπτ|deductibil|приспада"
    r"|odliczen|levy|taxe d'apprentissage"
    # Romanian "asigura" alone is "to ensure"; insurance is "asigurare".
    r"|insur|assuran|assicura|seguro|versicher|ασφάλισ|asigurar|asigurăr|застрах|ubezpiecz"
    r"|data protection|gdpr|rgpd|protection des donn|protezione dei dati|protecci[oó]n de datos"
    r"|prote[cç][aã]o de dados|datenschutz|προσωπικών δεδομ|protec[tț]ia datelor|лични данни"
    r"|ochron[ay] danych|consent|consentiment|consenso|einwilligung|συγκατάθ|consim[tț][aă]m"
    r"|съгласие|zgod[ay]"
    r"|state aid|aide d'[ée]tat|aiuti? di stato|ayuda de estado|aux[ií]lio de estado|beihilfe"
    r"|κρατικ[ήέ]ς ενίσχυσ|ajutor de stat|държавна помощ|pomoc publiczn"
    r"|certification|certificazione|certificaci[oó]n|certifica[cç][aã]o|zertifizierung"
    r"|πιστοποίηση|certificare|сертифик|certyfikac|qualiopi|accredit|accr[ée]dit|akkredit"
    r"|διαπίστευσ|acredit|акредит|akredytac"
    r"|equival|[ée]quivalen|equipollen|gleichwertig|ισοτιμ|echivalar|приравн|nostryfik"
    r"|recognition of (?:a |her |his |the )?(?:diploma|degree)"
    r"|anerkennung (?:des|der|eines) (?:abschlus|diplom)|αναγνωρίζεται το πτυχίο"
    r"|признава диплома|recunoa[sș]terea diplomei"
)

# A deadline or a date by which something must be done.
_DEADLINE = (
    r"deadline|d[ée]lai|date limite|scadenz|entro quando|plazo|prazo|frist|προθεσμ|μέχρι πότε"
    r"|termen|data limit[aă]|срок|до кога|termin|do kiedy|until when|by when"
    r"|when does .{0,40}(?:close|end|open)|quand (?:se termine|ferme|ouvre)"
    r"|cuándo (?:termina|cierra|vence)|quando (?:termina|fecha|chiude|scade)"
    r"|wann (?:endet|l[äa]uft|schlie)|c[âa]nd (?:se [îi]ncheie|expir)"
    r"|кога (?:изтича|приключва)|kiedy (?:mija|ko[nń]czy)"
)

# A named person or office, or how to reach one.
_PERSON = (
    r"who (?:is|are|signs|in)\b|qui est\b|qui (?:signe|g[eè]re)\b|chi [èe]\b|chi firma\b"
    r"|qui[ée]n (?:es|firma|lleva)\b|quem [ée]\b|wer (?:ist|unterschreibt)\b|ποιος είναι\b"
    r"|ποια είναι\b|cine (?:este|semneaz)|кой (?:е|подписва)\b"
    r"|kto (?:jest|w|podpisuje|odpowiada)\b|contact|contatt|contacto|kontakt|επικοινων"
    r"|как да се свържа|mr\.|mrs\.|ms\.|dr\.|minister|ministro|ministre|υπουργ|министър"
)

# An amount, a price or a rate.
_COST = (
    r"how much|combien|quanto cost|cu[aá]nto cuesta|quanto custa|wie (?:hoch|viel)"
    r"|πόσο (?:κοστίζει|είναι)|c[âa]t cost|колко (?:струва|е)|ile (?:kosztuje|wynosi)"
    r"|rate\b|taux\b|tasso\b|tasa\b|taxa\b|quote\b|ποσοστό|rata\b|процент|stopa\b"
    r"|percentage|pourcentage|percentuale|porcentaje|percentagem|prozentsatz|procent"
)

# A reference number (81/2015), a year, a calendar date.
_NUMBER = (
    r"\d{1,4}/\d{2,4}\b|(?:19|20)\d{2}\b|\d{1,2}(?:er|e)? (?:janvier|février|mars|avril|mai"
    r"|juin|juillet|août|septembre|octobre|novembre|décembre)\b"
)

# How to evaluate or measure an effect: a method, not a practice.
_EVALUATION = (
    r"evaluat\w* (?:whether|if|the (?:impact|effect|results?))|impact evaluation|control group"
    r"|how (?:do|can|should|would) we (?:evaluate|measure|assess)|counterfactual|prove (?:that|it)"
    r"|measure (?:whether|if|the (?:impact|effect))|which (?:statistical |evaluation )?method"
    r"|[ée]valuer (?:si|l'impact|l'effet|les effets)|[ée]valuation d'impact|contrefactuel"
    r"|mesurer (?:si|l'impact|l'effet)|groupe (?:de contr[ôo]le|t[ée]moin)|quelle m[ée]thode"
    r"|valutare (?:se|l'impatto|l'effetto|gli effetti)|valutazione d'impatto|quale metodo"
    r"|misur\w* (?:se|l'impatto|l'effetto)|gruppo di controllo|controfattual"
    r"|evaluar (?:si|el impacto|el efecto)|evaluamos|evaluaci[oó]n de impacto|contrafactual"
    r"|medir (?:si|el impacto|el efecto)|grupo de control|qu[ée] m[ée]todo"
    r"|avaliar (?:se|o impacto|o efeito)|avalia(?:mos)? o impacto|avalia[çc][ãa]o de impacto"
    r"|medir (?:se|o impacto|o efeito)|grupo de control[oe]|que m[ée]todo|qual (?:o )?m[ée]todo"
    r"|evaluier|wirkung\w* (?:messen|nachweisen|belegen)|wirkungsmessung|bewerten,? ob"
    r"|messen,? ob|kontrollgruppe|kontrafaktisch|welche methode"
    r"|αξιολογούμε|αξιολογήσουμε|αξιολόγηση (?:του )?αντίκτυπου|μετρήσουμε|ομάδα ελέγχου"
    r"|ποια μέθοδο"
    r"|evalu[aă]m|evalua (?:impactul|efectul)|evaluarea impactului|m[aă]sur[aă]m|ce metod"
    r"|grup de control"
    r"|оценим|оценка на (?:въздействието|ефекта)|измерим|измерваме|контролна група|какъв метод"
    r"|ocenić,? czy|ocenimy|ewaluac|zmierzyć|grup[ay] kontroln|jak(?:ą|iej) metod"
)

# Where official figures are, or a request for them.
_DATA = (
    r"official (?:figures|data|statistics|numbers|rates?)|where (?:are|is) .{0,50}published"
    r"|where (?:can|do|could) (?:i|we) (?:find|get)|send (?:me|us) (?:the )?(?:figures|data)"
    r"|chiffres officiels|donn[ée]es officielles|statistiques officielles"
    r"|o[ùu] (?:trouver|puis-je trouver|peut-on trouver|sont publi)"
    r"|dati ufficiali|statistiche ufficiali|dove (?:si )?trov|dove sono pubblicat"
    r"|mi (?:pu[òo]|puoi) mandare"
    r"|datos oficiales|cifras oficiales|estad[ií]sticas oficiales"
    r"|d[óo]nde (?:encuentro|puedo encontrar|se publican|est[áa]n los datos)"
    r"|dados oficiais|n[úu]meros oficiais|estat[ií]sticas oficiais"
    r"|onde (?:encontro|posso encontrar|est[ãa]o publicad|se publica)"
    r"|amtliche|offizielle (?:zahlen|daten|statistik)|wo finde|wo gibt es (?:die )?(?:zahlen|daten)"
    r"|wo werden .{0,40}ver[öo]ffentlicht"
    r"|επίσημα (?:στοιχεία|δεδομένα)|πού (?:βρίσκω|θα βρω|μπορώ να βρω|δημοσιεύ)"
    r"|date(?:le)? oficiale|statistici oficiale|unde (?:g[ăa]sesc|pot g[ăa]si|se public)"
    r"|официални(?:те)? данни|официална статистика"
    r"|къде (?:мога да намеря|намирам|да намеря|са публикувани)"
    r"|oficjalne (?:dane|statystyki)|dane oficjalne"
    r"|gdzie (?:znajd[ęe]|mog[ęe] znale[źz][ćc]|s[ąa] publikowane)"
)

# The steps, documents or statutes of an administrative procedure.
_PROCEDURE = (
    r"what (?:are the )?steps|which steps|procedure|what documents|which form|statutes"
    r"|articles of association|how (?:do|can) (?:we|i) (?:apply|register)|how to (?:apply|register)"
    r"|d[ée]marches|quelles [ée]tapes|proc[ée]dure|statuts|formulaire|quels documents"
    r"|comment (?:s'inscrire|d[ée]poser|immatriculer)"
    r"|quali passi|procedura|iter\b|statuto|quali documenti|come (?:ci si )?(?:iscriv|registr)"
    r"|qu[ée] pasos|tr[áa]mites|procedimiento|estatutos|formulario|qu[ée] documentos"
    r"|dar(?:se)? de alta"
    r"|que passos|quais (?:os )?passos|procedimento|tr[âa]mites|formul[áa]rio|que documentos"
    r"|como (?:me |se )?inscrev"
    r"|welche schritte|antragsverfahren|satzung|formular|welche unterlagen|wie meldet man"
    r"|wie l[äa]uft .{0,40}\bab\b"
    r"|ποια βήματα|διαδικασία|καταστατικό|έντυπο|δικαιολογητικά|πώς συστήνεται|πώς εγγράφ"
    r"|ce pa[șs]i|procedur|statut(?:ul)?\b|ce documente|cum se (?:[îi]nregistr|[îi]nfiin[țt])"
    r"|процедура|какви стъпки|устав|формуляр|какви документи|как да се регистрира"
    r"|jakie kroki|statut|formularz|jakie dokumenty|jak (?:si[ęe] )?zarejestrowa[ćc]"
)

CUE_KINDS = {
    name: re.compile(r"(?<!\w)(?:" + pattern + ")", re.IGNORECASE)
    for name, pattern in {
        "permission": _PERMISSION,
        "expert": _EXPERT,
        "legal": _LEGAL,
        "deadline": _DEADLINE,
        "person": _PERSON,
        "cost": _COST,
        "number": _NUMBER,
        "evaluation": _EVALUATION,
        "data": _DATA,
        "procedure": _PROCEDURE,
    }.items()
}


def cue_kinds(text: str) -> list[str]:
    """The kinds of cue ``text`` shows, in the order of :data:`CUE_KINDS`."""
    return [name for name, pattern in CUE_KINDS.items() if pattern.search(text)]
