//! Which config sections an agent reads: a setting the chosen agent would ignore is refused,
//! a config without the agent's own section is refused, and a run's config.toml holds what
//! its agent read and nothing else.

mod common;
use agents::config::Section;
use agents::{AgentKind, Config, ConfigError, LocalRule};
use std::path::{Path, PathBuf};

fn configs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs")
}

fn preset(name: &str) -> Config {
    Config::load(&configs().join(name)).unwrap_or_else(|e| panic!("{e}"))
}

const NONE: &[&str] = &[];

#[test]
fn an_override_the_agent_does_not_read_is_refused_naming_the_agent() {
    let paper = preset("paper.toml");
    let local = preset("local-td.toml");
    for (cfg, agent, set, section) in [
        (&local, AgentKind::LocalTd, "ff.margin=0.5", "ff"),
        (
            &local,
            AgentKind::LocalTd,
            "goodness-q.double-q=true",
            "goodness-q",
        ),
        (&paper, AgentKind::Bp, "ff.margin=0.5", "ff"),
        (&paper, AgentKind::Ff, "bp.optimizer.lr=0.1", "bp"),
        (
            &paper,
            AgentKind::Ff,
            "local-td.frozen-cells=true",
            "local-td",
        ),
    ] {
        let err = cfg.for_agent(agent, &[set]).expect_err(set);
        let msg = err.to_string();
        assert!(
            matches!(&err, ConfigError::NotRead { agent: a, section: s, .. } if *a == agent && s == section),
            "{set}: {msg}"
        );
        assert!(
            msg.contains(agent.name()) && msg.contains("[env], [train], [network]"),
            "{msg}"
        );
    }
    // What the agent reads is allowed, shared sections included.
    local
        .for_agent(
            AgentKind::LocalTd,
            &["local-td.double-q=true", "train.gamma=0.9"],
        )
        .expect("local-td reads both");
    paper
        .for_agent(
            AgentKind::Bp,
            &["bp.optimizer.lr=0.01", "network.hidden=[32]"],
        )
        .expect("bp reads both");
    // FF-DQN's BP warm start reads [bp], whether the file or the overrides ask for it.
    paper
        .for_agent(
            AgentKind::Ff,
            &[
                "ff.init=\"bp-warmstart\"",
                "ff.bp-warmstart-steps=10",
                "bp.optimizer.lr=0.1",
            ],
        )
        .expect("the warm start reads [bp]");
    let warm = preset("paper-ff-warmstart.toml");
    assert!(warm.sections_read(AgentKind::Ff).contains(&Section::Bp));
    warm.for_agent(AgentKind::Ff, &["bp.optimizer.lr=0.1"])
        .expect("the warm start reads [bp]");
}

#[test]
fn a_config_without_the_agents_section_is_refused_and_an_empty_one_takes_the_defaults() {
    let paper = preset("paper.toml");
    for agent in [AgentKind::LocalTd, AgentKind::GoodnessQ] {
        let err = paper.for_agent(agent, NONE).expect_err("no section");
        assert!(
            matches!(err, ConfigError::MissingSection { agent: a, .. } if a == agent),
            "{err}"
        );
        assert!(
            err.to_string().contains(&format!("[{}]", agent.name())),
            "{err}"
        );
    }
    let empty = Config::from_toml("[local-td]\n", "empty.toml").expect("valid");
    let cfg = empty
        .for_agent(AgentKind::LocalTd, NONE)
        .expect("an empty section is a choice");
    assert_eq!(
        cfg.local(LocalRule::LocalTd),
        Config::from_toml("", "d")
            .expect("valid")
            .local(LocalRule::LocalTd)
    );
    // An override of the agent's own section writes it.
    paper
        .for_agent(AgentKind::LocalTd, &["local-td.frozen-cells=true"])
        .expect("the override names the section");
}

#[test]
fn every_preset_loads_for_every_agent_whose_section_it_writes() {
    let mut loaded = 0;
    for path in common::presets() {
        let text = std::fs::read_to_string(&path).expect("readable");
        let cfg = Config::load(&path).unwrap_or_else(|e| panic!("{e}"));
        let table: toml::Table = toml::from_str(&text).expect("TOML");
        let mut agents = 0;
        for agent in AgentKind::ALL {
            let own = Section::of_agent(agent);
            let has = table.contains_key(own.name());
            // A preset with a convolution (minatar-dqn.toml) serves the other agents on the
            // flattened grid: they refuse it, naming the key, and load without it.
            let loaded = match cfg.for_agent(agent, NONE) {
                Err(e) if has && cfg.conv().is_some() && agent != AgentKind::Bp => {
                    assert!(e.to_string().contains("network.conv"), "{e}");
                    cfg.for_agent(agent, &["network.conv=\"none\""]).is_ok()
                }
                other => other.is_ok(),
            };
            assert_eq!(loaded, has, "{}: {agent}", path.display());
            agents += usize::from(has);
        }
        assert!(agents >= 1, "{} serves no agent", path.display());
        loaded += 1;
    }
    assert!(loaded >= 14);
}

#[test]
fn a_runs_config_holds_the_sections_its_agent_read_and_reads_back_the_same() {
    let paper = preset("paper.toml");
    for (agent, kept, dropped) in [(AgentKind::Bp, "[bp", "[ff"), (AgentKind::Ff, "[ff", "[bp")] {
        let text = paper.to_toml_for(agent);
        assert!(text.contains(kept) && !text.contains(dropped), "{text}");
        assert!(
            !text.contains("[local-td") && !text.contains("[goodness-q"),
            "{text}"
        );
        let back = Config::from_toml(&text, "config.toml").expect("valid");
        back.for_agent(agent, NONE).expect("holds its own section");
        assert_eq!(back.to_toml_for(agent), text);
        assert_eq!(
            back.sections_read(agent),
            paper.sections_read(agent),
            "{agent}"
        );
    }
}

/// configs/README.md lists the built-in defaults; they must be the code's.
#[test]
fn the_defaults_in_configs_readme_are_the_codes() {
    let readme = std::fs::read_to_string(configs().join("README.md")).expect("configs/README.md");
    let (_, rest) = readme
        .split_once("## The built-in defaults")
        .expect("a defaults section");
    let (_, block) = rest.split_once("```toml\n").expect("a toml block");
    let (block, _) = block.split_once("```").expect("closed");
    let defaults = Config::from_toml("", "defaults").expect("valid").to_toml();
    assert_eq!(
        block, defaults,
        "configs/README.md's defaults differ from the code's; they are:\n{defaults}"
    );
}

/// Every kind has a section of its own, named as the kind is, that a file can spell; the
/// layer-local rules are exactly the kinds of the local family, and each agent's section
/// reads back from its name.
#[test]
fn each_kind_owns_one_section_named_as_it_is() {
    let mut own: Vec<Section> = AgentKind::ALL.map(Section::of_agent).to_vec();
    own.sort();
    own.dedup();
    assert_eq!(own.len(), AgentKind::ALL.len(), "two kinds share a section");
    for kind in AgentKind::ALL {
        let section = Section::of_agent(kind);
        assert_eq!(section.name(), kind.name(), "{kind}'s section");
        assert_eq!(Section::from_name(section.name()), Some(section));
        assert!(Section::all().any(|s| s == section));
        assert!(
            Config::from_toml("", "defaults")
                .is_ok_and(|c| c.sections_read(kind).contains(&section))
        );
    }
    let local: Vec<AgentKind> = LocalRule::all().map(LocalRule::kind).collect();
    let family: Vec<AgentKind> = AgentKind::ALL
        .into_iter()
        .filter(|k| matches!(k.family(), agents::Family::Local(_)))
        .collect();
    assert_eq!(local, family);
    let names: Vec<&str> = Section::all().map(Section::name).collect();
    let mut unique = names.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), names.len(), "section names {names:?}");
}
