//! Model diagrams: SVG structure, PNG size against dpi and layer count, options.

use std::path::PathBuf;

mod keras_common;

use microdense::plot::{
    model_layers, render_diagram, write_diagram, DiagramFormat, DiagramLayer, DiagramOptions, PlotError,
    RankDir,
};

fn layer(name: &str, class: &str, input: &str, output: &str, activation: &str) -> DiagramLayer {
    DiagramLayer {
        name: name.to_string(),
        class_name: class.to_string(),
        input_shape: input.to_string(),
        output_shape: output.to_string(),
        dtype: "float32".to_string(),
        activation: Some(activation.to_string()),
        trainable: if class == "Dense" { Some(true) } else { None },
        inputs: None,
    }
}

/// The Keras tutorial's model: Dense 50, sigmoid, Dense 20, sigmoid, Dense 10, softmax.
fn tutorial() -> Vec<DiagramLayer> {
    vec![
        layer("dense", "Dense", "(None, 784)", "(None, 50)", "linear"),
        layer("activation", "Activation", "(None, 50)", "(None, 50)", "sigmoid"),
        layer("dense_1", "Dense", "(None, 50)", "(None, 20)", "linear"),
        layer(
            "activation_1",
            "Activation",
            "(None, 20)",
            "(None, 20)",
            "sigmoid",
        ),
        layer("dense_2", "Dense", "(None, 20)", "(None, 10)", "linear"),
        layer(
            "activation_2",
            "Activation",
            "(None, 10)",
            "(None, 10)",
            "softmax",
        ),
    ]
}

/// `count` layers alternating Dense and Activation, 64 units wide.
fn deep(count: usize) -> Vec<DiagramLayer> {
    (0..count)
        .map(|i| {
            if i % 2 == 0 {
                layer(
                    &format!("dense_{i}"),
                    "Dense",
                    "(None, 64)",
                    "(None, 64)",
                    "linear",
                )
            } else {
                layer(
                    &format!("activation_{i}"),
                    "Activation",
                    "(None, 64)",
                    "(None, 64)",
                    "relu",
                )
            }
        })
        .collect()
}

fn shapes() -> DiagramOptions {
    DiagramOptions {
        show_shapes: true,
        ..DiagramOptions::default()
    }
}

fn png_size(bytes: &[u8]) -> (u32, u32) {
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    let reader = decoder.read_info().expect("valid PNG");
    let info = reader.info();
    (info.width, info.height)
}

fn out_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("plot_diagram");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The text of every `<text>` element of each layer group, in order.
fn svg_layers(svg: &str) -> Vec<(String, String, Vec<String>)> {
    let doc = roxmltree::Document::parse(svg).expect("well-formed SVG");
    doc.descendants()
        .filter(|n| n.has_tag_name("g") && n.attribute("class") == Some("layer"))
        .map(|g| {
            let texts = g
                .descendants()
                .filter(|n| n.has_tag_name("text"))
                .map(|t| {
                    t.descendants()
                        .filter(|d| d.is_text())
                        .filter_map(|d| d.text())
                        .collect::<String>()
                })
                .collect();
            (
                g.attribute("data-name").unwrap_or("").to_string(),
                g.attribute("data-class").unwrap_or("").to_string(),
                texts,
            )
        })
        .collect()
}

#[test]
fn tutorial_svg_has_six_boxes_with_names_classes_and_shapes() {
    let svg = render_diagram(&tutorial(), &shapes(), DiagramFormat::Svg).unwrap();
    let svg = String::from_utf8(svg).unwrap();
    std::fs::write(out_dir().join("tutorial.svg"), &svg).unwrap();
    let layers = svg_layers(&svg);
    let expected = [
        ("dense", "Dense", "(None, 784)", "(None, 50)"),
        ("activation", "Activation", "(None, 50)", "(None, 50)"),
        ("dense_1", "Dense", "(None, 50)", "(None, 20)"),
        ("activation_1", "Activation", "(None, 20)", "(None, 20)"),
        ("dense_2", "Dense", "(None, 20)", "(None, 10)"),
        ("activation_2", "Activation", "(None, 10)", "(None, 10)"),
    ];
    assert_eq!(layers.len(), 6);
    for ((name, class, texts), (want_name, want_class, input, output)) in layers.iter().zip(expected) {
        assert_eq!((name.as_str(), class.as_str()), (want_name, want_class));
        assert_eq!(
            texts,
            &vec![
                format!("{want_name} ({want_class})"),
                format!("Input shape: {input}"),
                format!("Output shape: {output}"),
            ]
        );
    }
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let edges = doc
        .descendants()
        .filter(|n| n.attribute("class") == Some("edge"))
        .count();
    assert_eq!(edges, 5);
}

#[test]
fn tutorial_call_without_names_shows_classes_only() {
    let options = DiagramOptions {
        show_layer_names: false,
        ..shapes()
    };
    let svg = render_diagram(&tutorial(), &options, DiagramFormat::Svg).unwrap();
    let layers = svg_layers(&String::from_utf8(svg).unwrap());
    let headers: Vec<&str> = layers.iter().map(|(_, _, t)| t[0].as_str()).collect();
    assert_eq!(
        headers,
        [
            "Dense",
            "Activation",
            "Dense",
            "Activation",
            "Dense",
            "Activation"
        ]
    );
    write_diagram(&out_dir().join("tutorial.png"), &tutorial(), &options).unwrap();
}

#[test]
fn every_option_adds_its_cell() {
    let options = DiagramOptions {
        show_shapes: true,
        show_dtype: true,
        show_layer_activations: true,
        show_trainable: true,
        ..DiagramOptions::default()
    };
    let svg = render_diagram(&tutorial(), &options, DiagramFormat::Svg).unwrap();
    let layers = svg_layers(&String::from_utf8(svg).unwrap());
    assert_eq!(
        layers[0].2,
        [
            "dense (Dense)",
            "Activation: linear",
            "Input shape: (None, 784)",
            "Output shape: (None, 50)",
            "Output dtype: float32",
            "Trainable",
        ]
    );
    // Layers without weights get no trainable cell, as in Keras.
    assert_eq!(layers[1].2.last().unwrap(), "Output dtype: float32");
    write_diagram(&out_dir().join("all_options.png"), &tutorial(), &options).unwrap();

    let mut frozen = tutorial();
    frozen[0].trainable = Some(false);
    let svg = render_diagram(&frozen, &options, DiagramFormat::Svg).unwrap();
    let layers = svg_layers(&String::from_utf8(svg).unwrap());
    assert_eq!(layers[0].2.last().unwrap(), "Non-trainable");
}

#[test]
fn png_size_scales_with_dpi() {
    let at = |dpi| {
        let options = DiagramOptions { dpi, ..shapes() };
        png_size(&render_diagram(&tutorial(), &options, DiagramFormat::Png).unwrap())
    };
    let (w96, h96) = at(96);
    let (w192, h192) = at(192);
    let (w48, h48) = at(48);
    assert!(w96 > 300 && h96 > 600, "{w96}x{h96}");
    assert!(w192.abs_diff(2 * w96) <= 1 && h192.abs_diff(2 * h96) <= 1);
    assert!((2 * w48).abs_diff(w96) <= 2 && (2 * h48).abs_diff(h96) <= 2);
}

#[test]
fn png_height_scales_with_layer_count_and_fifty_layers_render() {
    let height = |count| png_size(&render_diagram(&deep(count), &shapes(), DiagramFormat::Png).unwrap());
    let (w10, h10) = height(10);
    let (w20, h20) = height(20);
    let (w50, h50) = height(50);
    assert_eq!(w10, w20);
    assert_eq!(w20, w50);
    // Each extra layer adds the same box-plus-gap height.
    let per_layer = (h20 - h10) as f64 / 10.0;
    assert!(per_layer > 100.0, "{per_layer}");
    assert!(((h50 - h20) as f64 / 30.0 - per_layer).abs() < 1.0);
    write_diagram(&out_dir().join("fifty.png"), &deep(50), &shapes()).unwrap();
    let svg = render_diagram(&deep(50), &shapes(), DiagramFormat::Svg).unwrap();
    assert_eq!(svg_layers(&String::from_utf8(svg).unwrap()).len(), 50);
}

#[test]
fn left_to_right_grows_sideways() {
    let tb = png_size(&render_diagram(&tutorial(), &shapes(), DiagramFormat::Png).unwrap());
    let options = DiagramOptions {
        rankdir: "LR".parse().unwrap(),
        ..shapes()
    };
    assert_eq!(options.rankdir, RankDir::LeftToRight);
    let lr = png_size(&render_diagram(&tutorial(), &options, DiagramFormat::Png).unwrap());
    assert!(lr.0 > 3 * tb.0 && lr.1 < tb.1 / 3, "TB {tb:?} LR {lr:?}");
    write_diagram(&out_dir().join("tutorial_lr.png"), &tutorial(), &options).unwrap();
}

#[test]
fn png_is_antialiased_black_and_white_with_grey_edges() {
    let bytes = render_diagram(&tutorial(), &shapes(), DiagramFormat::Png).unwrap();
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let pixels = &buf[..info.buffer_size()];
    let greys = pixels
        .chunks_exact(3)
        .filter(|p| p[0] > 20 && p[0] < 235 && p[0] == p[1] && p[1] == p[2])
        .count();
    let blacks = pixels.chunks_exact(3).filter(|p| p == &[0, 0, 0]).count();
    // Text edges are smoothed (intermediate greys) and the headers are solid black.
    assert!(greys > 1000, "{greys} grey pixels");
    assert!(blacks > pixels.len() / 3 / 10, "{blacks} black pixels");
}

#[test]
fn bad_input_is_an_error() {
    assert!(matches!(
        render_diagram(&[], &shapes(), DiagramFormat::Png),
        Err(PlotError::Input(_))
    ));
    let options = DiagramOptions { dpi: 0, ..shapes() };
    assert!(render_diagram(&tutorial(), &options, DiagramFormat::Png).is_err());
    assert!("diagonal".parse::<RankDir>().is_err());
    let err = write_diagram(&out_dir().join("model.jpg"), &tutorial(), &shapes()).unwrap_err();
    assert!(err.to_string().contains("model.jpg"), "{err}");
    let err = write_diagram(
        &out_dir().join("missing-dir").join("model.png"),
        &tutorial(),
        &shapes(),
    )
    .unwrap_err();
    assert!(matches!(err, PlotError::Io { .. }), "{err}");
}

#[test]
fn png_records_its_dpi() {
    let options = DiagramOptions { dpi: 200, ..shapes() };
    let bytes = render_diagram(&tutorial(), &options, DiagramFormat::Png).unwrap();
    let reader = png::Decoder::new(std::io::Cursor::new(bytes))
        .read_info()
        .unwrap();
    let dims = reader.info().pixel_dims.expect("pHYs chunk");
    assert_eq!(dims.unit, png::Unit::Meter);
    assert_eq!(dims.xppu, (200.0f64 / 0.0254).round() as u32);
}

#[test]
fn oversized_pictures_are_refused_before_allocating() {
    let options = DiagramOptions {
        dpi: 1200,
        ..shapes()
    };
    let err = render_diagram(&deep(50), &options, DiagramFormat::Png).unwrap_err();
    assert!(matches!(err, PlotError::TooLarge { .. }), "{err}");
    assert!(err.to_string().contains("dpi"), "{err}");
    // The SVG has no pixels and still renders.
    assert!(render_diagram(&deep(50), &options, DiagramFormat::Svg).is_ok());
}

#[test]
fn markup_in_names_is_escaped_in_svg() {
    let mut layers = tutorial();
    layers[0].name = "a<b>&\"c\"".to_string();
    let svg = String::from_utf8(render_diagram(&layers, &shapes(), DiagramFormat::Svg).unwrap()).unwrap();
    let parsed = svg_layers(&svg);
    assert_eq!(parsed[0].0, "a<b>&\"c\"");
    assert_eq!(parsed[0].2[0], "a<b>&\"c\" (Dense)");
}

#[test]
fn files_are_replaced_whole_without_temporary_leftovers() {
    let dir = out_dir().join("atomic");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("model.svg");
    std::fs::write(&path, "old contents").unwrap();
    write_diagram(&path, &tutorial(), &shapes()).unwrap();
    let written = std::fs::read_to_string(&path).unwrap();
    assert!(written.starts_with("<?xml") && written.trim_end().ends_with("</svg>"));
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["model.svg"]);
}

/// Each layer box's frame `(x, y)` and the number of arrows in an SVG diagram.
fn svg_frames_and_edges(svg: &str) -> (Vec<(String, f32, f32)>, usize) {
    let doc = roxmltree::Document::parse(svg).expect("well-formed SVG");
    let frames = doc
        .descendants()
        .filter(|n| n.has_tag_name("g") && n.attribute("class") == Some("layer"))
        .map(|g| {
            let frame = g
                .descendants()
                .find(|n| n.attribute("class") == Some("frame"))
                .unwrap();
            let at = |k| frame.attribute(k).unwrap().parse::<f32>().unwrap();
            (g.attribute("data-name").unwrap().to_string(), at("x"), at("y"))
        })
        .collect();
    let edges = doc
        .descendants()
        .filter(|n| n.has_tag_name("g") && n.attribute("class") == Some("edge"))
        .count();
    (frames, edges)
}

#[test]
fn graph_branches_are_drawn_side_by_side_with_an_arrow_per_input() {
    // Wide and deep: a Dense on the input beside two Dense layers, concatenated.
    let (_, model) = keras_common::test_models()
        .into_iter()
        .find(|(name, _)| *name == "wide_deep")
        .unwrap();
    let svg = render_diagram(&model_layers(&model), &shapes(), DiagramFormat::Svg).unwrap();
    let svg = String::from_utf8(svg).unwrap();
    std::fs::write(out_dir().join("wide_deep.svg"), &svg).unwrap();
    let (frames, edges) = svg_frames_and_edges(&svg);
    let at = |name: &str| {
        let (_, x, y) = frames.iter().find(|(n, _, _)| n == name).unwrap();
        (*x, *y)
    };
    // Keras's order: the deep branch's first Dense (depth 3) leads; the wide Dense and the
    // deep branch's second share a rank, side by side.
    let names: Vec<&str> = frames.iter().map(|(n, _, _)| n.as_str()).collect();
    assert_eq!(names, ["dense_1", "dense", "dense_2", "concatenate", "dense_3"]);
    assert_eq!(
        at("dense").1,
        at("dense_1").1,
        "both branches start in the first rank"
    );
    assert_ne!(at("dense").0, at("dense_1").0);
    assert!(at("dense_2").1 > at("dense_1").1);
    assert!(at("concatenate").1 > at("dense_2").1 && at("dense_3").1 > at("concatenate").1);
    // dense_1 → dense_2, dense → concatenate, dense_2 → concatenate, concatenate → dense_3.
    assert_eq!(edges, 4);
}
