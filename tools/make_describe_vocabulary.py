#!/usr/bin/python3
"""make_describe_vocabulary.py — writes models/describe-vocabulary.json, the
bundled vocabulary of Describe Layer (dream.h: dream_clip_describe).

General subjects, media, settings, lighting, styles and colours, plus every
word the bundled shapes-clip was trained on (tools/train/shapes.py: colours x
shapes, plain / sky / texture backgrounds). Written for the project (CC0).

    /usr/bin/python3 tools/make_describe_vocabulary.py
"""
import json
import os

colours = ['red', 'orange', 'yellow', 'green', 'blue', 'purple', 'white', 'black']
shapes = ['circle', 'square', 'triangle', 'star', 'ring', 'cross']


def a(w):
    return ('an ' if w[0] in 'aeiou' else 'a ') + w


medium = ["a photograph", "a close-up photograph", "a black and white photograph", "an aerial photograph",
          "a portrait photograph", "a macro photograph", "an oil painting", "a watercolour painting",
          "an acrylic painting", "a pencil drawing", "a charcoal drawing", "an ink drawing",
          "a pen and ink sketch", "a pastel drawing", "a digital painting", "a digital illustration",
          "a vector illustration", "a 3D render", "a pixel art image", "a comic book panel",
          "an anime drawing", "a cartoon", "a children's book illustration", "a woodcut print",
          "a linocut print", "a screen print", "a collage", "a mosaic", "a stained glass window",
          "an embroidery", "a poster", "a logo", "an infographic", "a screenshot", "a map", "a diagram",
          "a sculpture", "a low poly render", "a concept art painting", "a matte painting", "a fresco",
          "a chalk drawing on a blackboard", "a simple drawing", "a flat graphic", "a clip art image",
          "a film still", "a polaroid photo", "a vintage photograph", "a technical drawing", "a doodle"]
subjects = [a(c + ' ' + s) for c in colours for s in shapes] + [a(s) for s in shapes] + [
    "two shapes", "three shapes in a row",
    "a cat", "a dog", "a horse", "a bird", "a fish", "a butterfly", "a cow", "a sheep", "a lion", "a tiger",
    "an elephant", "a bear", "a rabbit", "a fox", "a deer", "an owl", "a duck", "a chicken", "an insect",
    "a spider", "a snake", "a frog", "a man", "a woman", "a child", "a baby", "a group of people", "a crowd",
    "a couple", "an old man", "an old woman", "a portrait of a man", "a portrait of a woman", "a face",
    "a hand", "a person walking", "a person running", "a soldier", "a knight", "a robot", "a monster",
    "a dragon", "an astronaut", "a wizard", "a princess", "a car", "a red car", "a truck", "a bus",
    "a bicycle", "a motorcycle", "a train", "an airplane", "a boat", "a ship", "a house", "a castle",
    "a church", "a skyscraper", "a bridge", "a tower", "a lighthouse", "a barn", "a cabin", "a temple",
    "a city skyline", "a street", "a village", "a ruin", "a room", "a kitchen", "a bedroom",
    "a living room", "an office", "a mountain", "a mountain landscape", "a lake", "a river", "a waterfall",
    "a forest", "a tree", "a field of flowers", "a desert", "a beach", "the ocean", "waves", "an island",
    "a volcano", "a canyon", "a meadow", "a garden", "a park", "a snowy landscape", "a sunset", "a sunrise",
    "clouds", "a storm", "a rainbow", "the moon", "the stars", "a galaxy", "the earth", "a flower", "a rose",
    "a sunflower", "a tulip", "a bouquet of flowers", "a leaf", "a cactus", "a mushroom", "an apple",
    "a banana", "a lemon", "a strawberry", "a cake", "a pizza", "a hamburger", "a cup of coffee",
    "a bowl of fruit", "a plate of food", "a bottle", "a glass of wine", "a book", "a pile of books",
    "a clock", "a chair", "a table", "a lamp", "a vase", "a guitar", "a piano", "a violin", "a camera",
    "a computer", "a phone", "a keyboard", "a shoe", "a hat", "a dress", "a pair of glasses",
    "a necklace", "a watch", "a key", "a ball", "a toy", "a teddy bear", "a doll", "a skull", "a candle",
    "a heart", "an eye", "a pattern", "a texture", "a text", "a letter", "a number",
    "an abstract composition", "geometric shapes", "lines", "a spiral", "a maze", "a chessboard",
    "an empty image"]
setting = ["on %s background" % a(c) for c in colours] + [
    "in a sunset sky", "under a night sky", "on stripes", "on dots", "on a checkerboard", "on grass",
    "on a plain background", "on a transparent background", "in a forest", "in a field",
    "in the mountains", "at the beach", "by the sea", "underwater", "in the desert", "in the snow",
    "in the rain", "in the fog", "in a city", "in a street", "in a park", "in a garden", "in a room",
    "in a kitchen", "in a studio", "in space", "in the sky", "in the clouds", "on a table",
    "on the floor", "on a wall", "on a road", "on water", "at night", "at sunset", "at dawn",
    "in winter", "in autumn", "in spring", "in summer", "in a museum", "in a library", "on a stage",
    "in a cave", "in a jungle", "on a farm"]
lighting = ["warm light", "cold light", "soft light", "hard light", "dramatic lighting", "studio lighting",
            "natural light", "golden hour light", "blue hour light", "backlight", "rim light", "candlelight",
            "neon light", "moonlight", "sunlight", "overcast light", "low light", "high key lighting",
            "low key lighting", "harsh shadows", "volumetric light", "spotlight", "firelight",
            "flat lighting"]
style = ["minimalist", "realistic", "photorealistic", "hyperrealistic", "impressionist", "expressionist",
         "surrealist", "cubist", "pop art", "art nouveau", "art deco", "baroque", "renaissance style",
         "romantic", "abstract", "abstract expressionist", "geometric", "flat design", "cartoon style",
         "anime style", "manga style", "comic style", "retro", "vintage", "futuristic", "cyberpunk",
         "steampunk", "fantasy", "sci-fi", "gothic", "cinematic", "dreamy", "whimsical", "cute", "dark",
         "moody", "serene", "chaotic", "symmetrical", "detailed", "highly detailed", "sketchy",
         "painterly", "graphic", "naive art", "folk art", "ukiyo-e", "bauhaus", "brutalist", "psychedelic",
         "glitch art", "low poly", "isometric", "vaporwave", "kawaii", "noir", "documentary", "editorial",
         "fashion", "street photography", "long exposure", "bokeh", "tilt-shift", "wide angle",
         "telephoto", "rule of thirds"]
colour = ["vivid colours", "pastel colours", "muted colours", "warm colours", "cool colours", "earth tones",
          "neon colours", "monochrome", "black and white", "sepia", "high contrast", "low contrast",
          "saturated colours", "desaturated colours", "complementary colours"] + [
    "%s tones" % c for c in colours] + ["gold and silver", "rainbow colours", "dark colours",
                                       "bright colours"]
cats = [
    {"name": "medium", "format": "{} of ", "entries": medium},
    {"name": "subject", "format": "{}", "always": True, "entries": subjects},
    {"name": "setting", "format": " {}", "entries": setting},
    {"name": "lighting", "format": ", {}", "prompt": "a picture with {}", "entries": lighting},
    {"name": "style", "format": ", {}", "prompt": "a {} picture", "entries": style},
    {"name": "colour", "format": ", {}", "prompt": "a picture in {}", "entries": colour},
]
for c in cats:
    assert len(set(c['entries'])) == len(c['entries']), c['name']
doc = {"comment": __doc__.split('\n\n')[1].replace('\n', ' '), "categories": cats}
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'models', 'describe-vocabulary.json')
with open(out, 'w') as f:
    f.write(json.dumps(doc, indent=1, ensure_ascii=False) + "\n")
print(out, sum(len(c['entries']) for c in cats), [len(c['entries']) for c in cats])
