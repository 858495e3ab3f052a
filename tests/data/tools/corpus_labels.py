"""Hand labels for items taken from the December 2022 corpus.

Each entry: (line index in news-2022-12.jsonl.gz counting from 0, link, relevant, kind).
The link is the real key (the corpus is de-duplicated by link); the index only
speeds up lookup and is checked against the link.  Labels were given by reading
each item's title and summary against tests/data/LABELING.md, never by rules.
"""

LABELS = [
    (246, 'http://www.msn.com/en-us/news/politics/pentagon-warns-turkey-against-syria-ground-invasion-after-strikes-threaten-us-troops/ar-AA14NC37?li=BBnbcA1&srcref=rss', False, 'military-operation'),  # Pentagon warns Turkey against Syria ground invasion after strikes thre
    (285, 'http://www.msn.com/en-us/news/world/syrian-rebels-did-not-know-iraqi-militant-killed-was-is-head/ar-AA14MZJw?li=BBnbcA1&srcref=rss', False, 'unrelated-syria'),  # Syrian rebels did not know Iraqi militant killed was IS head
    (372, 'https://www.wsj.com/articles/irans-president-visits-kurdish-province-amid-growing-unrest-11669907596', False, 'unrelated'),  # Iran's President Visits Kurdish Province Amid Growing Unrest
    (1721, 'https://www.lemonde.fr/en/international/article/2022/12/01/turkish-president-erdogan-s-electoral-base-is-disillusioned_6006317_4.html', False, 'domestic-politics'),  # Turkish President Erdogan's electoral base is disillusioned
    (1899, 'https://www.theepochtimes.com/isis-says-leader-abu-al-hassan-al-qurayshi-killed-in-battle_4895815.html', False, 'unrelated-syria'),  # ISIS Says Leader Abu al-Hassan al-Qurayshi Killed in Battle
    (2685, 'http://www.msn.com/en-us/news/world/defense-national-security-us-warns-turkey-against-attacking-syria/ar-AA14NIcb?li=BBnbcA1&srcref=rss', False, 'military-operation'),  # Defense & National Security — US warns Turkey against attacking Syria
    (4898, 'https://www.foxnews.com/world/pentagon-issues-warning-turkish-airstrikes-threaten-american-troops-syria', False, 'military-operation'),  # Pentagon issues warning after Turkish airstrikes threaten American tro
    (5447, 'https://www.theepochtimes.com/syria-kurds-halt-joint-ops-with-us-led-coalition-after-turkish-raids_4900356.html', False, 'military-operation'),  # Syria Kurds Halt Joint Ops With US-led Coalition After Turkish Raids
    (5849, 'http://www.msn.com/en-us/news/world/protesters-storm-government-office-in-south-syria/ar-AA14TgSK?li=BBnbcA1&srcref=rss', False, 'syria-domestic'),  # Protesters storm government office in south Syria
    (6706, 'https://www.theguardian.com/world/2022/dec/04/protester-killed-in-raid-syria-sweida-police-dies', False, 'syria-domestic'),  # Protester killed in raid on Syrian government building in Sweida
    (7743, 'https://www.nytimes.com/2022/12/05/world/europe/turkey-inflation-erdogan.html', False, 'domestic-politics'),  # Skyrocketing Prices in Turkey Hurt Families and Tarnish Erdogan
    (8116, 'https://www.dailymail.co.uk/news/article-11503927/Beautician-22-killed-pilot-plane-crashes-power-cable-Turkey.html?ns_mchannel=rss&ns_campaign=1490&ito=1490', False, 'unrelated-turkey'),  # Beautician, 22, is killed along with pilot when plane crashes into pow
    (8596, 'https://www.theepochtimes.com/federal-court-set-to-hear-case-about-repatriating-canadians-detained-in-syria_4904723.html', False, 'unrelated-syria'),  # Federal Court Set to Hear Case About Repatriating Canadians Detained i
    (9758, 'https://www.foxnews.com/world/turkish-military-vehicle-runs-woman-child-syria-sparking-protests', False, 'military-operation'),  # Turkish military vehicle runs over woman and child in Syria, sparking 
    (9858, 'https://reclaimthenet.org/turkeys-censorship-law-is-harming-independent-media-outlets/', False, 'domestic-politics'),  # Turkey’s censorship law is harming independent media outlets
    (11035, 'https://www.theguardian.com/business/2022/dec/06/oil-tanker-jam-turkey-price-cap-russian-crude', False, 'unrelated-turkey'),  # Oil tankers queue up off Turkey as price cap on Russian crude begins
    (11329, 'https://www.bbc.co.uk/news/world-middle-east-63879028?at_medium=RSS&at_campaign=KARANGA', False, 'unrelated-syria'),  # Syria camps: Relatives of Islamic State group 'stuck in limbo'
    (11499, 'http://www.msn.com/en-us/news/world/saudi-arabia-to-support-pakistan-eyes-deals-in-egypt-and-turkey/ar-AA151RTy?li=BBnbcA1&srcref=rss', False, 'unrelated-turkey'),  # Saudi Arabia to Support Pakistan, Eyes Deals in Egypt and Turkey
    (13094, 'https://www.lemonde.fr/en/international/article/2022/12/07/war-in-ukraine-puts-erdogan-s-acrobatic-diplomacy-center-stage-again_6006929_4.html', False, 'unrelated-turkey'),  # War in Ukraine puts Erdogan's acrobatic diplomacy center stage again
    (14105, 'https://www.wsj.com/articles/nato-membership-for-sweden-and-finland-on-track-officials-say-11670531221', False, 'unrelated-turkey'),  # NATO Membership for Sweden, Finland on Track, Officials Say
    (14782, 'https://www.cnbc.com/2022/12/08/turkey-stops-oil-not-under-russian-sanctions-upping-energy-supply-fears.html', False, 'unrelated-turkey'),  # Turkey is stopping oil not under Russian sanctions, raising global ene
    (16943, 'https://www.nytimes.com/2022/12/09/business/turkey-erdogan-energy-russia.html', False, 'unrelated-turkey'),  # Turkey Is Strengthening Its Energy Ties With Russia
    (17861, 'https://www.reutersagency.com/en/reutersbest/article/reuters-reveals-u-s-puts-sanctions-on-turkish-businessman-citing-links-to-irans-quds-force/', False, 'unrelated-turkey'),  # Reuters reveals U.S. puts sanctions on Turkish businessman, citing lin
    (18579, 'http://www.msn.com/en-us/news/world/explainer-what-s-at-stake-in-turkey-s-new-syria-escalation/ar-AA157mju?li=BBnbcA1&srcref=rss', False, 'military-operation'),  # EXPLAINER: What's at stake in Turkey's new Syria escalation
    (19655, 'https://abcnews.go.com/Politics/helicopter-raid-kills-isis-officials-syria-us/story?id=94992780', False, 'unrelated-syria'),  # Helicopter raid kills Islamic State officials in Syria, US says
    (19776, 'https://www.aljazeera.com/news/2022/12/11/erdogan-putin-discuss-syria-border-corridor-gas-hub-by-phone', False, 'military-operation'),  # Erdogan, Putin discuss Syria border corridor, gas hub by phone
    (21216, 'https://www.aljazeera.com/news/2022/12/12/zelenskyy-renews-diplomacy-thanks-bidens-unprecedented-help', False, 'unrelated-turkey'),  # Zelenskyy renews diplomacy, thanks US for ‘unprecedented’ help
    (21947, 'https://www.foxnews.com/world/turkeys-pending-syria-invasion-motivated-politics-security-concerns-experts-say', True, 'diplomacy'),  # Turkey's pending Syria invasion motivated by politics, not security co
    (22756, 'https://www.lemonde.fr/en/international/article/2022/12/12/syria-s-third-cell-phone-operator-is-under-the-control-of-the-iranian-revolutionary-guards_6007402_4.html', False, 'syria-domestic'),  # Syria's third cell phone operator is under the control of the Iranian 
    (25845, 'https://news.sky.com/story/islamic-state-still-a-threat-and-seeking-to-free-10000-of-its-jailed-fighters-experts-say-12768069', False, 'unrelated-syria'),  # Islamic State still a threat and seeking to free 10,000 jailed fighter
    (25992, 'https://www.aljazeera.com/news/2022/12/14/turkish-court-sentences-istanbul-mayor-to-jail-time', False, 'domestic-politics'),  # Istanbul mayor sentenced to prison for insulting public officials
    (26400, 'https://www.nbcnews.com/news/world/turkish-court-orders-jail-time-political-ban-erdogan-rival-imamoglu-rcna61709', False, 'domestic-politics'),  # Turkish court orders jail time and political ban for Erdogan rival
    (27396, 'https://www.dailymail.co.uk/news/article-11536897/Woman-falls-50ft-death-aeroplane-boarding-bridge-Turkish-airport.html?ns_mchannel=rss&ns_campaign=1490&ito=1490', False, 'unrelated-turkey'),  # Woman falls 50ft to her death from aeroplane boarding bridge at Turkis
    (27924, 'https://www.theguardian.com/world/2022/dec/14/istanbul-mayor-ekrem-imamoglu-sentenced-to-jail-over-fools-insult', False, 'domestic-politics'),  # Istanbul mayor Ekrem İmamoğlu sentenced to jail over ‘fools’ insult
    (29979, 'https://www.theguardian.com/world/2022/dec/15/turkish-journalist-arrested-for-spreading-disinformation-sinan-aygul', False, 'domestic-politics'),  # First Turkish journalist arrested under ‘disinformation’ law
    (32087, 'https://www.theepochtimes.com/turkey-russia-syria-axis-taking-shape-after-erdogan-calls-for-meeting-with-assad_4928610.html', True, 'leaders-meeting'),  # Turkey-Russia-Syria Axis Taking Shape After Erdogan Calls for Meeting 
    (32573, 'https://www.aljazeera.com/news/2022/12/17/no-final-court-decision-yet-erdogan-on-istanbul-mayor-sentence', False, 'domestic-politics'),  # Turkey’s courts to fix any errors after Imamoglu jailing: Erdogan
    (33954, 'https://www.aljazeera.com/opinions/2022/12/18/turkiye-zero-waste-movement', False, 'unrelated-turkey'),  # Türkiye emerges as a leader of the zero-waste movement
    (35410, 'https://www.aljazeera.com/news/2022/12/19/swedens-top-court-blocks-turkish-journalists-extradition', False, 'unrelated-turkey'),  # Sweden’s top court blocks Turkish journalist’s extradition
    (36070, 'https://www.foxnews.com/world/kurdish-led-group-us-forces-arrest-islamic-state-group-militant-staged-attacks-syria', False, 'unrelated-syria'),  # Kurdish-led group, US forces arrest Islamic State group militant that 
    (37114, 'https://www.theguardian.com/world/2022/dec/19/swedish-court-blocks-extradition-journalist-turkey-nato-bulent-kenes', False, 'unrelated-turkey'),  # Swedish court blocks extradition of journalist sought by Turkey in Nat
    (37189, 'https://www.theguardian.com/film/2022/dec/19/republic-of-silence-review-syria-assad-documentary-film', False, 'unrelated-syria'),  # Republic of Silence review – fragments from the beating heart of Syria
    (38521, 'https://www.nytimes.com/2022/12/20/us/politics/isis-commando-raids-syria.html', False, 'unrelated-syria'),  # U.S. Commandos Capture Six ISIS Officials in Raids in Syria
    (39215, 'https://www.forbes.com/sites/amirhusain/2022/12/20/ukraine-war-thrusts-iran-and-turkey-into-the-role-of-arms-suppliers/', False, 'unrelated-turkey'),  # Ukraine War Thrusts Iran And Turkey Into The Role Of Arms Suppliers
    (42715, 'https://www.aljazeera.com/news/2022/12/22/sweden-still-has-requirements-to-meet-to-join-nato-turkey', False, 'unrelated-turkey'),  # Sweden still has requirements to meet to join NATO: Turkey
    (42729, 'https://www.aljazeera.com/news/2022/12/22/turkey-saudi-arabia-condemn-talibans-university-ban-for-women', False, 'unrelated-turkey'),  # Turkey, Saudi Arabia condemn Taliban’s university ban for women
    (42839, 'http://www.msn.com/en-us/news/world/2-turkish-military-planes-that-got-stuck-in-ukraine-when-russia-attacked-10-months-ago-are-finally-home/ar-AA15ztMp?li=BBnbcA1&srcref=rss', False, 'unrelated-turkey'),  # 2 Turkish military planes that got stuck in Ukraine when Russia attack
    (43972, 'https://www.cnbc.com/2022/12/22/turkey-hikes-minimum-wage-by-55percent-as-inflation-and-living-cost-crisis-bite.html', False, 'domestic-politics'),  # Turkey hikes minimum wage by 55% as inflation and living cost crisis b
    (47555, 'https://www.aljazeera.com/news/2022/12/24/kurdish-protesters-call-for-justice-after-deadly-paris-shooting', False, 'unrelated'),  # Kurdish protesters call for justice after deadly Paris shooting
    (47899, 'https://www.wsj.com/articles/the-ukraine-war-is-pushing-turkey-closer-to-russia-11671720774', False, 'unrelated-turkey'),  # The Ukraine War Is Pushing Turkey Closer to Russia
    (48111, 'https://www.nytimes.com/2022/12/24/world/canada/immigrants-canada.html', False, 'unrelated-syria'),  # The Syrian Family That Rebuilt a Chocolate Empire in Nova Scotia
    (49245, 'https://www.wsj.com/articles/u-s-steps-up-raids-against-islamic-state-militants-in-syria-11671977685', False, 'unrelated-syria'),  # U.S. Steps Up Raids Against Islamic State in Syria
    (49788, 'https://www.lemonde.fr/en/police-and-justice/article/2022/12/25/syrian-kurds-protest-against-paris-attack_6009073_105.html', False, 'unrelated-syria'),  # Syrian Kurds protest against Paris attack
    (50208, 'https://www.aljazeera.com/news/2022/12/26/turkey-summons-french-ambassador-over-anti-turk-propaganda', False, 'unrelated-turkey'),  # Turkey summons French ambassador after Paris shooting
    (50224, 'https://www.aljazeera.com/news/2022/12/26/erdogan-says-ronaldo-subjected-to-political-ban-at-world-cup', False, 'unrelated-turkey'),  # Ronaldo dropped because of ‘political ban’ says Erdogan
    (50970, 'https://www.bloomberg.com/news/articles/2022-12-26/turkey-announces-massive-boost-to-natural-gas-reserves-in-black-sea', False, 'unrelated-turkey'),  # Turkey Announces Massive Boost to Black Sea Natural-Gas Reserves Estim
    (51323, 'https://www.lemonde.fr/en/international/article/2022/12/26/kyiv-accuses-moscow-of-supplying-syria-with-wheat-stolen-from-ukraine_6009178_4.html', False, 'unrelated-syria'),  # Kyiv accuses Moscow of supplying Syria with wheat stolen from Ukraine
    (51332, 'https://www.lemonde.fr/en/france/article/2022/12/26/in-france-a-kurdish-community-is-haunted-by-ankara-s-violence-against-its-own-people_6009137_7.html', False, 'unrelated-turkey'),  # France's Kurdish community is haunted by Ankara's violence
    (51780, 'https://www.cnn.com/2022/12/27/investing/etfs-mutual-funds-winners-losers/index.html', False, 'unrelated-turkey'),  # Oil and Turkish stocks were 2022 market winners. Russia funds and cryp
    (53353, 'https://www.lemonde.fr/en/international/article/2022/12/27/syria-paralyzed-by-fuel-shortages_6009328_4.html', False, 'syria-domestic'),  # Syria paralyzed by fuel shortages
    (53971, 'https://www.aljazeera.com/news/2022/12/28/turkey-syria-russia-defence-ministers-hold-talks-in-moscow', True, 'moscow-talks'),  # Turkey, Syria, Russia defence ministers hold talks in Moscow
    (54412, 'https://www.wsj.com/articles/turkey-syria-defense-ministers-meet-in-moscow-11672255686', True, 'moscow-talks'),  # Turkey, Syria Defense Ministers Meet in Moscow
    (55052, 'https://www.bloomberg.com/news/articles/2022-12-28/turkey-syria-defense-chiefs-hold-first-meeting-since-syrian-civil-war-began', True, 'moscow-talks'),  # Turkey, Syria Defense Chiefs Hold First Meeting Since Syrian Civil War
    (55561, 'https://www.lemonde.fr/en/international/article/2022/12/28/turkey-forced-marriage-of-six-year-old-girl-revives-debate-on-religious-sects_6009428_4.html', False, 'domestic-politics'),  # Turkey: Forced marriage of six-year-old girl revives debate on religio
    (57002, 'https://www.foxnews.com/world/centcom-says-over-thousand-isis-fighters-have-been-killed-captured-2022-operations', False, 'unrelated-syria'),  # CENTCOM says over a thousand ISIS fighters have been killed or capture
    (57341, 'https://www.bloomberg.com/news/articles/2022-12-29/turkey-to-earmark-13-billion-for-early-retirement-ballot-pledge', False, 'domestic-politics'),  # Turkey to Earmark $13 Billion For Early Retirement Ballot Pledge
    (58134, 'https://www.theguardian.com/world/2022/dec/29/turkish-and-syrian-defence-and-security-officials-meet-for-first-time-in-decade', True, 'moscow-talks'),  # Turkish and Syrian defence and security officials meet for first time 
    (58451, 'https://abcnews.go.com/Lifestyle/wireStory/former-families-face-neighbors-hatred-returning-home-95968628', False, 'unrelated-syria'),  # Former IS families face neighbors' hatred returning home
    (58665, 'https://www.aljazeera.com/news/2022/12/30/attack-eastern-syria-kills-oil-workers', False, 'unrelated-syria'),  # Attack in eastern Syria kills 10 oil workers: state media
    (58805, 'http://www.msn.com/en-us/news/world/ten-killed-in-isis-bus-attack-in-syria-state-media/ar-AA15NSLr?li=BBnbcA1&srcref=rss', False, 'unrelated-syria'),  # Ten killed in ISIS bus attack in Syria: State media
    (59745, 'https://www.dailymail.co.uk/news/article-11585841/Explosion-doner-kebab-restaurant-Turkey-kills-seven-suspected-gas-leak.html?ns_mchannel=rss&ns_campaign=1490&ito=1490', False, 'unrelated-turkey'),  # Explosion at doner kebab restaurant in Turkey kills seven after suspec
    (60003, 'https://www.ft.com/content/df4e49b1-572a-4b37-951b-41bf0c6ff05b', False, 'unrelated-turkey'),  # Turkish stocks soar as local investors seek refuge from blistering inf
    (60049, 'https://www.lemonde.fr/en/international/article/2022/12/30/syria-and-turkey-warm-relations-with-first-official-meeting_6009760_4.html', True, 'moscow-talks'),  # Syria and Turkey warm relations with first official meeting
    (60178, 'https://www.newsweek.com/us-must-step-help-kurds-syria-opinion-1769360', False, 'unrelated-syria'),  # The U.S. Must Step in to Help the Kurds of Syria | Opinion
    (60261, 'https://www.theepochtimes.com/moscow-hosts-regional-defense-chiefs-in-fresh-sign-of-turkey-syria-thaw_4953211.html', True, 'moscow-talks'),  # Moscow Hosts Regional Defense Chiefs in Fresh Sign of Turkey-Syria Tha
    (61831, 'https://www.theepochtimes.com/attack-kills-10-in-syria-kurdish-forces-arrest-52-terrorists_4953824.html', False, 'unrelated-syria'),  # Attack Kills 10 in Syria, Kurdish Forces Arrest 52 Terrorists
]

# Random unrelated items: drawn with this seed from English-language entries
# that mention none of the topic words (see build_sets.TOPIC_RE).
RANDOM_SEED = 20221228
RANDOM_COUNT = 40

# Polish-language corpus items that are relevant but left out because the
# sets carry only en/tr/ar (recorded in LABELING.md):
#   28720  "Erdogan: W ramach działań antyterrorystycznych chcemy współpracować z Rosją i Syrią"
#   57261  "Spotkanie w Moskwie. 'Wyraźny sygnał'"
